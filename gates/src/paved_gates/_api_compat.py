"""Gate `api-compat`: the committed API descriptions against the base branch, breaking changes.

Each configured description (OpenAPI document, GraphQL SDL, directory of .proto files) is read
from the working tree and from `base` through git, and compared: OpenAPI by this package's
differ (`_openapi_diff`), GraphQL by graphql-core's `find_breaking_changes`, proto by
`buf breaking` with the FILE rules. Breaking changes fail the gate unless that API's major
version went up, in which case they are reported as accepted.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphql import GraphQLError, GraphQLSchema, build_schema
from graphql.utilities import find_breaking_changes, find_dangerous_changes
from packaging.version import InvalidVersion, Version

from ._config import Table
from ._console import progress
from ._errors import ConfigError, ToolError
from ._git import Repository, base_revision, missing_base_finding
from ._openapi_diff import Severity, diff_openapi
from ._proc import executable, run_tool
from ._result import Finding, GateResult, Skip, Status

__all__ = ["ApiCompatConfig", "configure", "run"]

_GATE = "api-compat"
_TABLE = "tool.gates.api-compat"
#: Written into both sides of a proto comparison whose directory has no buf.yaml of its own.
_BUF_YAML = "version: v2\nbreaking:\n  use:\n    - FILE\n"
_BUF_FILES = ("buf.yaml", "buf.lock")
_GRAPHQL_VERSION = re.compile(r"^#\s*api-version:\s*(\S+)\s*$", re.MULTILINE)
_PROTO_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)\s*;", re.MULTILINE)
_PROTO_MAJOR = re.compile(r"^v(\d+)(?:(?:alpha|beta)\d*)?$")


@dataclass(frozen=True, kw_only=True)
class ApiCompatConfig:
    """`[tool.gates.api-compat]`; a description left unset is not compared."""

    #: Git ref to compare with; the environment variable `GATES_BASE` overrides it.
    base: str = "origin/main"
    #: Fail, rather than skip, when `base` cannot be compared with.
    require_base: bool = False
    #: OpenAPI 3.x document (JSON; YAML when PyYAML is installed), relative to the project.
    openapi: str | None = None
    #: GraphQL SDL file, relative to the project.
    graphql: str | None = None
    #: Directory of .proto files (a buf module), relative to the project.
    proto: str | None = None


def configure(table: Table) -> ApiCompatConfig:
    """Validate `[tool.gates.api-compat]`."""
    defaults = ApiCompatConfig()
    return ApiCompatConfig(
        base=table.string("base", defaults.base),
        require_base=table.boolean("require-base", default=defaults.require_base),
        openapi=table.string("openapi", "") or None,
        graphql=table.string("graphql", "") or None,
        proto=table.string("proto", "") or None,
    )


@dataclass(kw_only=True)
class _Outcome:
    """What one format's comparison found."""

    fmt: str
    path: str
    breaking: list[Finding] = field(default_factory=list)
    accepted: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)
    #: Extra per-format metrics, such as `additive` for OpenAPI.
    counts: dict[str, float] = field(default_factory=dict)
    summary: str = ""
    #: Why the format was not compared; None when it was.
    skipped: Skip | None = None


@dataclass(frozen=True, kw_only=True)
class _Version:
    """The major versions on each side; a bump accepts the breaking changes."""

    label: str
    base: int | None
    current: int | None

    @property
    def bumped(self) -> bool:
        return self.base is not None and self.current is not None and self.current > self.base

    def describe(self) -> str:
        return f"{self.label} {_shown(self.base)} → {_shown(self.current)}"


def run(*, config: ApiCompatConfig, project: Path, results: Path) -> GateResult:
    """Compare every configured description with its version at the base ref."""
    base = base_revision(config.base)
    checks: list[tuple[str, str, Callable[[str, _Git], _Outcome]]] = []
    if config.openapi:
        checks.append(("openapi", config.openapi, lambda p, g: _openapi(p, g, project)))
    if config.graphql:
        checks.append(("graphql", config.graphql, lambda p, g: _graphql(p, g, project)))
    if config.proto:
        checks.append(("proto", config.proto, lambda p, g: _proto(p, g, project)))
    if not checks:
        return GateResult(
            gate=_GATE,
            status=Status.SKIPPED,
            summary=f"nothing to compare: set `openapi`, `graphql` or `proto` in [{_TABLE}]",
        )
    for key, path, _ in checks:
        wanted = project / path
        if not (wanted.is_dir() if key == "proto" else wanted.is_file()):
            kind = "directory" if key == "proto" else "file"
            raise ConfigError(key=f"{_TABLE}.{key}", message=f"no such {kind}: {path}")

    git = _Git(project, base)
    progress(_GATE, f"comparing with {base}")
    if git.missing is not None and config.require_base:
        checked = ", ".join(key for key, _, _ in checks)
        return GateResult(
            gate=_GATE,
            status=Status.FAILED,
            findings=(
                missing_base_finding(table=f"[{_TABLE}]", check=checked, reason=git.missing),
            ),
            summary=f"against `{base}`: nothing compared",
        )
    outcomes: list[_Outcome] = []
    for key, path, check in checks:
        if git.missing is not None:
            outcomes.append(_skip(key, path, git.missing))
        elif not git.exists(path):
            outcomes.append(_skip(key, path, f"`{path}` does not exist at `{base}` (a new API)"))
        else:
            outcomes.append(check(path, git))
    return _result(outcomes, base)


def _result(outcomes: list[_Outcome], base: str) -> GateResult:
    metrics: dict[str, float] = {}
    findings: list[Finding] = []
    skipped: list[Skip] = []
    for outcome in outcomes:
        findings += [*outcome.breaking, *outcome.accepted, *outcome.notes]
        if outcome.skipped is not None:
            skipped.append(outcome.skipped)
            continue
        metrics[f"{outcome.fmt}.breaking"] = float(len(outcome.breaking))
        metrics[f"{outcome.fmt}.accepted"] = float(len(outcome.accepted))
        metrics.update({f"{outcome.fmt}.{name}": value for name, value in outcome.counts.items()})
    summary = f"against `{base}`: " + "; ".join(outcome.summary for outcome in outcomes)
    if len(skipped) == len(outcomes):
        return GateResult(
            gate=_GATE, status=Status.SKIPPED, skipped=tuple(skipped), summary=summary
        )
    breaking = sum(len(outcome.breaking) for outcome in outcomes)
    metrics["breaking"] = float(breaking)
    metrics["accepted"] = float(sum(len(outcome.accepted) for outcome in outcomes))
    return GateResult(
        gate=_GATE,
        status=Status.FAILED if breaking else Status.PASSED,
        metrics=metrics,
        thresholds={"breaking": 0.0},
        findings=tuple(findings),
        skipped=tuple(skipped),
        summary=summary,
    )


def _skip(fmt: str, path: str, reason: str) -> _Outcome:
    return _Outcome(
        fmt=fmt,
        path=path,
        summary=f"{fmt} skipped ({reason})",
        skipped=Skip(check=fmt, reason=f"`{path}`: {reason}"),
    )


def _decide(outcome: _Outcome, changes: Sequence[Finding], version: _Version) -> _Outcome:
    """File breaking changes as failures, or as accepted when the major version went up."""
    if version.bumped:
        outcome.accepted += [
            dataclasses.replace(
                change,
                id=f"accepted-{change.id}",
                message=f"{change.message} (accepted: {version.describe()})",
            )
            for change in changes
        ]
    else:
        outcome.breaking += changes
    counts = [f"{len(outcome.breaking)} breaking"]
    if outcome.accepted:
        counts.append(f"{len(outcome.accepted)} accepted ({version.describe()})")
    counts += [f"{value:g} {name}" for name, value in outcome.counts.items()]
    outcome.summary = f"{outcome.fmt} `{outcome.path}`: {', '.join(counts)}"
    return outcome


# OpenAPI


def _openapi(path: str, git: _Git, project: Path) -> _Outcome:
    key = f"{_TABLE}.openapi"
    current = _load_openapi((project / path).read_text(encoding="utf-8"), path, key=key)
    try:
        base = _load_openapi(git.show(path), path, key=key)
    except ConfigError as exc:
        return _skip("openapi", path, f"the base version cannot be read ({exc})")
    changes = diff_openapi(base, current)
    outcome = _Outcome(
        fmt="openapi",
        path=path,
        counts={"additive": float(sum(c.severity is Severity.ADDITIVE for c in changes))},
    )
    outcome.notes += [
        Finding(id=f"note-{change.rule}", message=change.message, path=path)
        for change in changes
        if change.severity is Severity.INFO
    ]
    version = _Version(
        label="info.version",
        base=_semver_major(_info_version(base)),
        current=_semver_major(_info_version(current)),
    )
    breaking = [
        Finding(id=change.rule, message=change.message, path=path)
        for change in changes
        if change.severity is Severity.BREAKING
    ]
    return _decide(outcome, breaking, version)


def _load_openapi(text: str, path: str, *, key: str) -> Mapping[str, Any]:
    """Parse an OpenAPI 3.x document.

    Raises:
        ConfigError: not JSON/YAML, or not an OpenAPI 3.x document.
    """
    data: Any
    if path.endswith((".yaml", ".yml")):
        try:
            yaml: Any = importlib.import_module("yaml")
        except ModuleNotFoundError:
            raise ConfigError(
                key=key, message=f"{path}: reading YAML needs PyYAML; install it or commit JSON"
            ) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(key=key, message=f"{path} is not valid YAML: {exc}") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(key=key, message=f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not str(data.get("openapi", "")).startswith("3."):
        raise ConfigError(key=key, message=f"{path} is not an OpenAPI 3.x document")
    return data


def _info_version(document: Mapping[str, Any]) -> str:
    info = document.get("info")
    return str(info.get("version", "")) if isinstance(info, Mapping) else ""


def _semver_major(text: str) -> int | None:
    """The major component of a PEP 440 or semver version (`v2.1.0`, `2.0.0-rc.1`)."""
    try:
        return Version(text).major
    except InvalidVersion:
        return None


# GraphQL


def _graphql(path: str, git: _Git, project: Path) -> _Outcome:
    current_text = (project / path).read_text(encoding="utf-8")
    current = _build_graphql(current_text, path)
    base_text = git.show(path)
    try:
        base = _build_graphql(base_text, path)
    except ConfigError as exc:
        return _skip("graphql", path, f"the base version cannot be read ({exc})")
    dangerous = find_dangerous_changes(base, current)
    outcome = _Outcome(fmt="graphql", path=path, counts={"dangerous": float(len(dangerous))})
    outcome.notes += [
        Finding(id=f"note-graphql-{_kebab(c.type.name)}", message=c.description, path=path)
        for c in dangerous
    ]
    version = _Version(
        label="api-version",
        base=_graphql_major(base_text),
        current=_graphql_major(current_text),
    )
    breaking = [
        Finding(id=f"graphql-{_kebab(c.type.name)}", message=c.description, path=path)
        for c in find_breaking_changes(base, current)
    ]
    return _decide(outcome, breaking, version)


def _build_graphql(text: str, path: str) -> GraphQLSchema:
    try:
        return build_schema(text)
    except (GraphQLError, TypeError) as exc:
        raise ConfigError(
            key=f"{_TABLE}.graphql", message=f"{path} is not a valid GraphQL schema: {exc}"
        ) from None


def _graphql_major(sdl: str) -> int:
    """The `# api-version: N` comment's major version; an unversioned schema counts as 0."""
    found = _GRAPHQL_VERSION.search(sdl)
    major = _semver_major(found.group(1)) if found else None
    return major or 0


# proto


def _proto(path: str, git: _Git, project: Path) -> _Outcome:
    try:
        buf = executable("buf")
    except ToolError:
        raise ToolError(
            tool="buf",
            message="not installed; proto needs the `proto` extra: `uv add 'paved-gates[proto]'`",
        ) from None
    with tempfile.TemporaryDirectory(prefix="api-compat-") as scratch:
        root = Path(scratch)
        current_dir, base_dir = root / "current", root / "base"
        for name in _proto_files(project / path):
            target = current_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(project / path / name, target)
        for name in git.files(path):
            target = base_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(git.show(f"{path}/{name}"), encoding="utf-8")
        for side in (current_dir, base_dir):
            side.mkdir(exist_ok=True)
            if not (side / "buf.yaml").exists():
                (side / "buf.yaml").write_text(_BUF_YAML, encoding="utf-8")
        version = _Version(
            label="package version",
            base=_proto_major(base_dir),
            current=_proto_major(current_dir),
        )
        ran = run_tool(
            [buf, "breaking", "current", "--against", "base", "--error-format", "json"],
            cwd=root,
            gate=_GATE,
            label="buf breaking",
        )
    annotations = [json.loads(line) for line in ran.stdout.splitlines() if line.startswith("{")]
    if ran.returncode not in (0, 100) or (ran.returncode == 100 and not annotations):
        raise ToolError(tool="buf", message=f"`buf breaking` failed:\n{ran.tail()}")
    compile_errors = [a for a in annotations if a.get("type") == "COMPILE"]
    if compile_errors:
        where = [_buf_path(path, str(a.get("path", ""))) for a in compile_errors]
        if all(side == "base" for side, _ in where):
            return _skip("proto", path, "the base version does not compile")
        messages = "; ".join(
            f"{file}:{a.get('start_line', 0)}: {a.get('message', '')}"
            for (_, file), a in zip(where, compile_errors, strict=True)
        )
        raise ConfigError(key=f"{_TABLE}.proto", message=f"{path} does not compile: {messages}")
    changes = [
        Finding(
            id=f"proto-{_kebab(str(a.get('type', 'breaking')))}",
            message=str(a.get("message", "")),
            path=_buf_path(path, str(a.get("path", "")))[1],
            line=int(a["start_line"]) if a.get("start_line") else None,
        )
        for a in annotations
    ]
    return _decide(_Outcome(fmt="proto", path=path), changes, version)


def _proto_files(directory: Path) -> list[str]:
    """The .proto files and buf configuration under `directory`, relative to it."""
    return sorted(
        str(file.relative_to(directory))
        for file in directory.rglob("*")
        if file.is_file() and (file.suffix == ".proto" or file.name in _BUF_FILES)
    )


def _proto_major(directory: Path) -> int:
    """The highest `vN` package suffix (`acme.items.v2`) of the module; 0 when unversioned."""
    majors = [0]
    for file in directory.rglob("*.proto"):
        for package in _PROTO_PACKAGE.findall(file.read_text(encoding="utf-8")):
            found = _PROTO_MAJOR.match(package.rsplit(".", 1)[-1])
            if found:
                majors.append(int(found.group(1)))
    return max(majors)


def _buf_path(configured: str, reported: str) -> tuple[str, str]:
    """Buf's `current/x.proto` or `base/x.proto` as (side, project-relative path)."""
    side, _, rest = reported.partition("/")
    return side, f"{configured.rstrip('/')}/{rest}" if rest else configured


# git


class _Git:
    """Reading files at the base ref, from the project directory (which may be a subdirectory)."""

    def __init__(self, project: Path, base: str) -> None:
        self.repository = Repository(project, gate=_GATE)
        self.base = base
        #: Why the base cannot be read, or None.
        self.missing = self.repository.missing_base(base)

    def _run(self, *args: str) -> tuple[int, str]:
        return self.repository.run(*args)

    def exists(self, path: str) -> bool:
        code, _ = self._run("cat-file", "-e", f"{self.base}:./{path}")
        if code == 0:
            return True
        return bool(self.files(path))

    def show(self, path: str) -> str:
        code, text = self._run("show", f"{self.base}:./{path}")
        if code != 0:
            raise ToolError(tool="git", message=f"cannot read {path} at {self.base}")
        return text

    def files(self, directory: str) -> list[str]:
        """The .proto and buf files under `directory` at the base ref, relative to it."""
        code, listing = self._run("ls-tree", "-r", "--name-only", self.base, "--", directory)
        if code != 0:
            return []
        prefix = directory.rstrip("/") + "/"
        names = [line.removeprefix(prefix) for line in listing.splitlines() if line]
        return [n for n in names if n.endswith(".proto") or n.rsplit("/", 1)[-1] in _BUF_FILES]


def _kebab(name: str) -> str:
    return name.lower().replace("_", "-")


def _shown(major: int | None) -> str:
    return "?" if major is None else str(major)
