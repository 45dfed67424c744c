"""The `deps` gate: known vulnerabilities in the locked dependency set, waivers, and an SBOM."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from ._config import Table
from ._errors import ConfigError, ToolError
from ._proc import executable, python_module, run_tool
from ._result import Finding, GateResult, Status

__all__ = ["DEFAULT_OSV_URL", "OSV_URL_ENV", "DepsConfig", "Waiver", "configure", "run"]

GATE = "deps"
#: The public OSV service; any OSV-compatible service (an air-gapped mirror) can replace it.
DEFAULT_OSV_URL = "https://api.osv.dev"
#: Environment variable that beats `[tool.gates.deps] osv-url` (CI runners of a closed network).
OSV_URL_ENV = "GATES_OSV_URL"
#: The SBOM goes beside the result files unless `sbom` names a path (relative to the project).
DEFAULT_SBOM_NAME = "sbom.cdx.json"


@dataclass(frozen=True, kw_only=True)
class Waiver:
    """An accepted vulnerability: which advisory, why, and until when (inclusive)."""

    id: str
    reason: str
    expires: dt.date

    def matches(self, ids: Sequence[str]) -> bool:
        """Whether this waiver names the advisory or one of its aliases."""
        return self.id.upper() in {i.upper() for i in ids}

    def expired(self, today: dt.date) -> bool:
        return today > self.expires


@dataclass(frozen=True, kw_only=True)
class DepsConfig:
    """`[tool.gates.deps]`."""

    osv_url: str = DEFAULT_OSV_URL
    sbom: str | None = None
    waivers: tuple[Waiver, ...] = ()

    @classmethod
    def from_table(cls, table: Table) -> Self:
        """Validate `[tool.gates.deps]`.

        Raises:
            ConfigError: naming the offending key.
        """
        osv_url = table.string("osv-url", DEFAULT_OSV_URL)
        if not osv_url.startswith(("http://", "https://")):
            raise table.error("osv-url", f"must be an http(s) URL, got {osv_url!r}")
        sbom = table.string("sbom", "") or None
        waivers = _waivers(table)
        return cls(osv_url=osv_url, sbom=sbom, waivers=waivers)


def _waivers(table: Table) -> tuple[Waiver, ...]:
    waivers = []
    for item in table.tables("waivers"):
        waivers.append(
            Waiver(
                id=item.required_string("id"),
                reason=item.required_string("reason"),
                expires=item.date("expires"),
            )
        )
        item.check_unknown()
    return tuple(waivers)


def configure(table: Table, /) -> DepsConfig:
    """Validate `[tool.gates.deps]` (the registry's entry point)."""
    return DepsConfig.from_table(table)


def osv_url(config: DepsConfig) -> str:
    """The OSV service base URL: `$GATES_OSV_URL`, else the configured one, else osv.dev.

    A URL given with its API path (`.../v1` or `.../v1/query`) is reduced to the base.

    Raises:
        ConfigError: `$GATES_OSV_URL` is not an http(s) URL.
    """
    url = os.environ.get(OSV_URL_ENV, "").strip() or config.osv_url
    if not url.startswith(("http://", "https://")):
        raise ConfigError(key=OSV_URL_ENV, message=f"must be an http(s) URL, got {url!r}")
    url = url.rstrip("/")
    for suffix in ("/v1/query", "/v1"):
        url = url.removesuffix(suffix)
    return url


@dataclass(frozen=True, kw_only=True)
class _Vulnerability:
    package: str
    version: str
    id: str
    aliases: tuple[str, ...]
    fix_versions: tuple[str, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)

    def describe(self) -> str:
        aliases = f" (also {', '.join(sorted(self.aliases))})" if self.aliases else ""
        fix = f"fixed in {', '.join(self.fix_versions)}" if self.fix_versions else "no fix released"
        return f"{self.package} {self.version} is affected{aliases}; {fix}"


def run(*, config: DepsConfig, project: Path, results: Path) -> GateResult:
    """Audit `project`'s uv.lock against the OSV service and write its SBOM.

    Raises:
        ConfigError: the project has no uv.lock, or `$GATES_OSV_URL` is not a URL.
        ToolError: uv, pip-audit or cyclonedx-py could not run, or the OSV service could not
            be reached (the message names its URL).
    """
    if not (project / "uv.lock").is_file():
        raise ConfigError(
            message=(
                f"no uv.lock in {project}: the deps gate audits the locked dependency set; "
                "run `uv lock` and commit uv.lock"
            )
        )
    url = osv_url(config)
    sbom = project / config.sbom if config.sbom else results / DEFAULT_SBOM_NAME
    with tempfile.TemporaryDirectory(prefix="gates-deps-") as tmp:
        everything = _export(project, Path(tmp) / "locked.txt")
        with ThreadPoolExecutor(max_workers=1) as pool:  # the SBOM does not wait for the audit
            sbom_written = pool.submit(_write_sbom, project, sbom)
            report = _audit(project, everything, url)
            sbom_written.result()

    today = dt.datetime.now(dt.UTC).date()
    audited = [d for d in report.get("dependencies", []) if "skip_reason" not in d]
    vulns = [
        _Vulnerability(
            package=str(dep["name"]),
            version=str(dep["version"]),
            id=str(vuln["id"]),
            aliases=tuple(str(a) for a in vuln.get("aliases", [])),
            fix_versions=tuple(str(v) for v in vuln.get("fix_versions", [])),
        )
        for dep in audited
        for vuln in dep.get("vulns", [])
    ]
    findings: list[Finding] = []
    failing = waived = 0
    used: set[Waiver] = set()
    for vuln in vulns:
        waiver = next((w for w in config.waivers if w.matches(vuln.ids)), None)
        if waiver is None:
            failing += 1
            findings.append(Finding(id=vuln.id, message=vuln.describe(), path="uv.lock"))
            continue
        used.add(waiver)
        if waiver.expired(today):
            failing += 1
            findings.append(
                Finding(
                    id=vuln.id,
                    message=(
                        f"waiver for {waiver.id} expired on {waiver.expires.isoformat()}: "
                        f"{vuln.describe()}"
                    ),
                    path="pyproject.toml",
                )
            )
        else:
            waived += 1
            findings.append(
                Finding(
                    id=f"waived:{vuln.id}",
                    message=(
                        f"waived until {waiver.expires.isoformat()} ({waiver.reason}): "
                        f"{vuln.describe()}"
                    ),
                    path="pyproject.toml",
                )
            )
    expired_unused = [w for w in config.waivers if w not in used and w.expired(today)]
    findings += [
        Finding(
            id=f"waiver-expired:{waiver.id}",
            message=(
                f"waiver for {waiver.id} expired on {waiver.expires.isoformat()} "
                "and matches no vulnerability any more: remove it"
            ),
            path="pyproject.toml",
        )
        for waiver in expired_unused
    ]
    findings += [
        Finding(
            id=f"waiver-stale:{waiver.id}",
            message=(
                f"waiver for {waiver.id} matches no vulnerability in the locked "
                "dependencies (not failing): remove it"
            ),
            path="pyproject.toml",
        )
        for waiver in config.waivers
        if waiver not in used and not waiver.expired(today)
    ]
    failed = failing > 0 or bool(expired_unused)
    skipped = len(report.get("dependencies", [])) - len(audited)
    return GateResult(
        gate=GATE,
        status=Status.FAILED if failed else Status.PASSED,
        metrics={
            "dependencies": len(audited),
            "vulnerabilities": failing,
            "waived": waived,
            "skipped": skipped,
        },
        thresholds={"vulnerabilities": 0},
        findings=tuple(findings),
        summary=(
            f"{len(audited)} locked dependencies audited against {url}: "
            f"{failing} vulnerable, {waived} waived; SBOM written to {_shown(sbom, project)}"
        ),
    )


def _shown(path: Path, project: Path) -> str:
    return str(path.relative_to(project)) if path.is_relative_to(project) else str(path)


def _export(project: Path, target: Path) -> Path:
    """Export uv.lock as pinned requirements, every group and extra (pip-audit's input)."""
    done = run_tool(
        [
            executable("uv"),
            "export",
            "--frozen",
            "--quiet",
            "--format",
            "requirements-txt",
            "--no-hashes",
            "--no-header",
            "--no-annotate",
            "--no-emit-local",
            "--all-extras",
            "--all-groups",
            "--output-file",
            str(target),
        ],
        cwd=project,
        gate=GATE,
        label="uv export",
    )
    if done.returncode != 0:
        raise ToolError(tool="uv export", message=done.tail())
    return target


def _write_sbom(project: Path, sbom: Path) -> None:
    """CycloneDX 1.5 JSON of the runtime dependencies from uv.lock, by uv itself.

    uv writes the project as the root component, each package with its hashes and the
    dependency graph. The export is a preview feature of uv (named here so uv does not warn).
    """
    sbom.parent.mkdir(parents=True, exist_ok=True)
    done = run_tool(
        [
            executable("uv"),
            "export",
            "--frozen",
            "--quiet",
            "--format",
            "cyclonedx1.5",
            "--preview-features",
            "sbom-export",
            "--all-extras",
            "--no-default-groups",
            "--output-file",
            str(sbom),
        ],
        cwd=project,
        gate=GATE,
        label="uv export --format cyclonedx1.5",
    )
    if done.returncode != 0:
        raise ToolError(tool="uv export (SBOM)", message=done.tail())


def _audit(project: Path, requirements: Path, url: str) -> dict[str, Any]:
    """pip-audit's JSON report for the pinned requirements, queried against `url`."""
    done = run_tool(
        [
            *python_module("pip_audit", package="pip-audit"),
            "--requirement",
            str(requirements),
            "--no-deps",
            "--disable-pip",
            "--vulnerability-service",
            "osv",
            "--osv-url",
            f"{url}/v1/query",
            "--format",
            "json",
            "--aliases",
            "on",
            "--desc",
            "off",
            "--progress-spinner",
            "off",
        ],
        cwd=project,
        gate=GATE,
        label=f"pip-audit against {url}",
    )
    try:
        report = json.loads(done.stdout)
    except ValueError:
        report = None
    if not isinstance(report, dict) or done.returncode not in (0, 1):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        cause = _unreachable(last)
        if cause is not None:
            raise ToolError(
                tool=GATE,
                message=(
                    f"the OSV service at {url} cannot be reached ({cause}); point "
                    f"{OSV_URL_ENV} (or [tool.gates.deps] osv-url) at an OSV-compatible mirror"
                ),
            )
        raise ToolError(
            tool="pip-audit", message=f"could not audit against the OSV service at {url}: {last}"
        )
    return report


#: What requests (under pip-audit) says when it never got an answer, and what that means.
_CONNECTION_FAILURES = (
    ("NameResolutionError", "its host name does not resolve"),
    ("Connection refused", "connection refused"),
    ("ConnectTimeout", "the connection timed out"),
    ("ProxyError", "the proxy refused the connection"),
    ("ConnectionError", "no connection"),
)


def _unreachable(error: str) -> str | None:
    """Why pip-audit's last error line says the service was never reached; None otherwise."""
    return next((cause for marker, cause in _CONNECTION_FAILURES if marker in error), None)
