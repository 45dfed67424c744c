"""The coverage gate: total branch coverage, critical-path groups and patch coverage."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from ._config import Table
from ._console import progress
from ._errors import ConfigError
from ._git import base_revision, missing_base_finding
from ._patch_coverage import changed_files
from ._result import Finding, GateResult, Skip, Status
from ._tests import COVERAGE_JSON, COVERAGE_XML

__all__ = [
    "DEFAULT_CRITICAL",
    "CoverageConfig",
    "CriticalGroup",
    "configure",
    "line_ranges",
    "run",
]

GATE = "coverage"


@dataclass(frozen=True, kw_only=True)
class CriticalGroup:
    """Files whose combined statement and branch coverage must reach `threshold` percent."""

    name: str
    globs: tuple[str, ...]
    threshold: float


DEFAULT_CRITICAL = (
    CriticalGroup(name="auth", globs=("src/*/core/auth/*",), threshold=90),
    CriticalGroup(name="core", globs=("src/*/core/*",), threshold=90),
    CriticalGroup(
        name="persistence", globs=("src/*/core/db.py", "src/*/*/repository.py"), threshold=90
    ),
    CriticalGroup(name="idempotency", globs=("src/*/core/idempotency.py",), threshold=90),
)


@dataclass(frozen=True, kw_only=True)
class CoverageConfig:
    """`[tool.gates.coverage]`; `critical_declared` is False when the defaults apply."""

    total: float = 85
    patch: float = 80
    base: str = "origin/main"
    #: Fail, rather than skip patch coverage, when `base` cannot be compared with.
    require_base: bool = False
    critical: tuple[CriticalGroup, ...] = DEFAULT_CRITICAL
    critical_declared: bool = False


def configure(table: Table) -> CoverageConfig:
    """Validate `[tool.gates.coverage]` and its `critical` groups."""
    default = CoverageConfig()
    declared = table.has_table("critical")
    critical = table.table("critical")
    groups = tuple(_group(critical, name) for name in critical) if declared else None
    critical.check_unknown()
    return CoverageConfig(
        total=table.number("total", default.total, minimum=0, maximum=100),
        patch=table.number("patch", default.patch, minimum=0, maximum=100),
        base=table.string("base", default.base),
        require_base=table.boolean("require-base", default=default.require_base),
        critical=DEFAULT_CRITICAL if groups is None else groups,
        critical_declared=declared,
    )


def _group(critical: Table, name: str) -> CriticalGroup:
    table = critical.table(name)
    globs = table.strings("globs", ())
    if not globs:
        raise table.error("globs", "is required: a non-empty list of path globs")
    group = CriticalGroup(
        name=name,
        globs=globs,
        threshold=table.number("threshold", 90, minimum=0, maximum=100),
    )
    table.check_unknown()
    return group


@dataclass(frozen=True, kw_only=True)
class _File:
    """One measured file of coverage.py's JSON report."""

    path: str
    missing: frozenset[int]
    partial: frozenset[int]
    covered_units: int
    units: int

    @classmethod
    def parse(cls, path: str, data: Mapping[str, Any]) -> _File:
        summary = data.get("summary", {})
        return cls(
            path=path,
            missing=frozenset(data.get("missing_lines", ())),
            partial=frozenset(source for source, _ in data.get("missing_branches", ())),
            covered_units=int(summary.get("covered_lines", 0))
            + int(summary.get("covered_branches", 0)),
            units=int(summary.get("num_statements", 0)) + int(summary.get("num_branches", 0)),
        )

    def gaps(self) -> str:
        parts = []
        if self.missing:
            parts.append(f"missing lines {line_ranges(self.missing)}")
        partial = self.partial - self.missing
        if partial:
            parts.append(f"partial branches at {line_ranges(partial)}")
        return "; ".join(parts)


@dataclass(kw_only=True)
class _Decision:
    metrics: dict[str, float] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)


def run(*, config: CoverageConfig, project: Path, results: Path) -> GateResult:
    """Judge the coverage data the tests gate wrote; report every threshold missed."""
    data = _load(results / COVERAGE_JSON)
    files = {
        f.path: f
        for f in (
            _File.parse(_relative(project, name), entry)
            for name, entry in data.get("files", {}).items()
        )
    }
    decision = _Decision()
    if not data.get("meta", {}).get("branch_coverage", False):
        decision.notes.append("branch coverage was not measured (run the tests gate)")
    _judge_total(config, data, decision)
    for group in config.critical:
        _judge_group(group, files, decision, declared=config.critical_declared)
    _judge_patch(config, project, results, decision)
    return GateResult(
        gate=GATE,
        status=Status.FAILED if decision.findings else Status.PASSED,
        metrics=decision.metrics,
        thresholds=decision.thresholds,
        findings=tuple(decision.findings),
        skipped=tuple(decision.skipped),
        summary="; ".join(decision.notes),
    )


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            message=f"no coverage data at {path}: run `gates tests` first "
            "(`gates all` runs tests before coverage)"
        ) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(message=f"{path} is not coverage.py JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise ConfigError(message=f"{path} is not coverage.py JSON (no `files`)")
    return data


def _relative(project: Path, name: str) -> str:
    path = Path(name)
    if path.is_absolute():
        try:
            return path.relative_to(project).as_posix()
        except ValueError:
            return path.as_posix()
    return path.as_posix()


def _percent(covered: int, total: int) -> float:
    return 100.0 * covered / total if total else 100.0


def _judge_total(config: CoverageConfig, data: Mapping[str, Any], decision: _Decision) -> None:
    totals = data.get("totals", {})
    covered = int(totals.get("covered_lines", 0)) + int(totals.get("covered_branches", 0))
    units = int(totals.get("num_statements", 0)) + int(totals.get("num_branches", 0))
    total = _percent(covered, units)
    decision.metrics["total"] = round(total, 2)
    decision.thresholds["total"] = config.total
    if total < config.total:
        decision.findings.append(
            Finding(
                id="total",
                message=f"total coverage {total:.2f}% is below the threshold {config.total:g}%",
            )
        )


def _judge_group(
    group: CriticalGroup, files: Mapping[str, _File], decision: _Decision, *, declared: bool
) -> None:
    matched = [
        f for path, f in sorted(files.items()) if any(fnmatchcase(path, g) for g in group.globs)
    ]
    globs = ", ".join(group.globs)
    if not matched:
        if declared:
            decision.findings.append(
                Finding(
                    id=f"critical-missing:{group.name}",
                    message=f"critical group `{group.name}` matches no measured file ({globs}): "
                    "fix its globs, or measure those files ([tool.coverage.run] source)",
                )
            )
        else:
            decision.skipped.append(
                Skip(check=f"critical.{group.name}", reason=f"no measured file matches {globs}")
            )
        return
    covered = sum(f.covered_units for f in matched)
    units = sum(f.units for f in matched)
    percent = _percent(covered, units)
    key = f"critical.{group.name}"
    decision.metrics[key] = round(percent, 2)
    decision.thresholds[key] = group.threshold
    if percent >= group.threshold:
        return
    headline = (
        f"critical group `{group.name}` covered {percent:.2f}%, below its threshold "
        f"{group.threshold:g}%"
    )
    gaps = [f for f in matched if f.gaps()]
    for f in gaps:
        first = min(f.missing | f.partial)
        decision.findings.append(
            Finding(
                id=f"critical:{group.name}",
                message=f"{headline}: {f.path} {f.gaps()}",
                path=f.path,
                line=first,
            )
        )
    if not gaps:
        decision.findings.append(Finding(id=f"critical:{group.name}", message=headline))


def _judge_patch(config: CoverageConfig, project: Path, results: Path, decision: _Decision) -> None:
    base = base_revision(config.base)
    progress(GATE, f"comparing with {base} for patch coverage")
    changed = changed_files(
        base=base, project=project, coverage_xml=results / COVERAGE_XML, results=results, gate=GATE
    )
    if isinstance(changed, str):
        if config.require_base:
            decision.findings.append(
                missing_base_finding(table="[tool.gates.coverage]", check="patch", reason=changed)
            )
        else:
            decision.skipped.append(Skip(check="patch", reason=changed))
        return
    total = sum(len(f.covered | f.missing) for f in changed)
    if not total:
        decision.notes.append(f"patch coverage: no measured line changed since {base}")
        return
    uncovered = sum(len(f.missing) for f in changed)
    percent = _percent(total - uncovered, total)
    decision.metrics["patch"] = round(percent, 2)
    decision.thresholds["patch"] = config.patch
    if percent >= config.patch:
        return
    headline = (
        f"patch coverage {percent:.2f}% ({total - uncovered} of {total} changed lines) is "
        f"below the threshold {config.patch:g}% against {base}"
    )
    decision.findings += [
        Finding(
            id="patch",
            message=f"{headline}: {f.path} uncovered changed lines {line_ranges(f.missing)}",
            path=f.path,
            line=min(f.missing),
        )
        for f in changed
        if f.missing
    ]


def line_ranges(lines: Iterable[int]) -> str:
    """Compact ranges, `12-14, 20`, of a set of line numbers."""
    ordered = sorted(set(lines))
    parts: list[str] = []
    index = 0
    while index < len(ordered):
        start = end = ordered[index]
        while index + 1 < len(ordered) and ordered[index + 1] == end + 1:
            index += 1
            end = ordered[index]
        parts.append(str(start) if start == end else f"{start}-{end}")
        index += 1
    return ", ".join(parts)
