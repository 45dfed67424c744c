"""The lint gate: ruff check, ruff format --check, mypy --strict and zizmor, every one reported."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._config import Table
from ._proc import ToolRun, executable, python_module, run_tool
from ._result import Finding, GateResult, Skip, Status

__all__ = ["LintConfig", "configure", "run"]

GATE = "lint"


@dataclass(frozen=True, kw_only=True)
class LintConfig:
    """`[tool.gates.lint]`: what the Python tools check, and where the workflows are."""

    paths: tuple[str, ...] = ("src", "tests")
    workflows: str = ".github/workflows"


def configure(table: Table) -> LintConfig:
    """Validate `[tool.gates.lint]`."""
    default = LintConfig()
    return LintConfig(
        paths=table.strings("paths", default.paths),
        workflows=table.string("workflows", default.workflows),
    )


def run(*, config: LintConfig, project: Path, results: Path) -> GateResult:
    """Run all four linters, whatever the earlier ones found, and report every finding."""
    del results  # everything lint says fits in its findings
    paths = [path for path in config.paths if _has_python(project / path)]
    skipped = [path for path in config.paths if path not in paths]
    findings: list[Finding] = []
    metrics: dict[str, float] = {}
    notes: list[str] = []
    not_run: list[Skip] = []
    if skipped:
        notes.append(f"skipped paths without Python files: {', '.join(skipped)}")
    for name, check in (("ruff", _ruff_check), ("format", _ruff_format), ("mypy", _mypy)):
        if not paths:
            not_run.append(Skip(check=name, reason="no configured path holds Python files"))
            continue
        found = check(project, paths)
        metrics[name] = len(found)
        findings += found
    if (project / config.workflows).is_dir():
        found = _zizmor(project, config.workflows)
        metrics["zizmor"] = len(found)
        findings += found
    else:
        not_run.append(Skip(check="zizmor", reason=f"no {config.workflows} directory"))
    counted = ", ".join(f"{name} {int(count)}" for name, count in metrics.items())
    status = Status.FAILED if findings else Status.PASSED
    return GateResult(
        gate=GATE,
        status=status if metrics else Status.SKIPPED,
        metrics=metrics,
        thresholds=dict.fromkeys(metrics, 0),
        findings=tuple(findings),
        skipped=tuple(not_run),
        summary="; ".join([f"findings: {counted}" if counted else "nothing checked", *notes]),
    )


def _has_python(path: Path) -> bool:
    if path.is_file():
        return True
    return path.is_dir() and any(
        candidate.suffix in {".py", ".pyi"} for candidate in path.rglob("*.py*")
    )


def _relative(project: Path, filename: str) -> str:
    path = Path(filename)
    if path.is_absolute():
        try:
            path = path.relative_to(project)
        except ValueError:
            return filename
    return path.as_posix()


def _failed_to_run(tool: str, ran: ToolRun) -> Finding:
    return Finding(
        id=f"{tool}:error",
        message=f"{tool} exited {ran.returncode}: {ran.tail(10)}",
    )


def _ruff_findings(project: Path, ran: ToolRun, *, tool: str, fallback: str) -> list[Finding]:
    if ran.returncode not in (0, 1):
        return [_failed_to_run(tool, ran)]
    try:
        entries: list[dict[str, Any]] = json.loads(ran.stdout or "[]")
    except json.JSONDecodeError:
        return [_failed_to_run(tool, ran)]
    findings = [
        Finding(
            id=f"{tool}:{entry.get('code') or fallback}",
            message=str(entry.get("message") or "file would be reformatted"),
            path=_relative(project, str(entry.get("filename", ""))),
            line=(entry.get("location") or {}).get("row"),
        )
        for entry in entries
    ]
    if ran.returncode == 1 and not findings:
        return [_failed_to_run(tool, ran)]
    return findings


def _ruff_check(project: Path, paths: list[str]) -> list[Finding]:
    ruff = python_module("ruff")
    args = [*ruff, "check", "--no-fix", "--force-exclude", "--output-format", "json", *paths]
    ran = run_tool(args, cwd=project, gate=GATE, label="ruff check")
    return _ruff_findings(project, ran, tool="ruff", fallback="syntax-error")


def _ruff_format(project: Path, paths: list[str]) -> list[Finding]:
    ruff = python_module("ruff")
    args = [*ruff, "format", "--check", "--force-exclude", "--output-format", "json", *paths]
    ran = run_tool(args, cwd=project, gate=GATE, label="ruff format --check")
    return _ruff_findings(project, ran, tool="format", fallback="unformatted")


def _mypy(project: Path, paths: list[str]) -> list[Finding]:
    mypy = python_module("mypy")
    args = [*mypy, "--strict", "--output", "json", "--no-color-output", *paths]
    ran = run_tool(args, cwd=project, gate=GATE, label="mypy --strict")
    if ran.returncode not in (0, 1):
        return [_failed_to_run("mypy", ran)]
    findings: list[Finding] = []
    for line in ran.stdout.splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        if entry.get("severity") != "error":
            continue
        message = str(entry.get("message", ""))
        if entry.get("hint"):
            message += f" ({entry['hint']})"
        findings.append(
            Finding(
                id=f"mypy:{entry.get('code') or 'error'}",
                message=message,
                path=_relative(project, str(entry.get("file", ""))),
                line=entry.get("line"),
            )
        )
    if ran.returncode == 1 and not findings:
        return [_failed_to_run("mypy", ran)]
    return findings


def _zizmor(project: Path, workflows: str) -> list[Finding]:
    zizmor = executable("zizmor")
    args = [zizmor, "--offline", "--no-exit-codes", "--no-progress", "--format", "json", workflows]
    ran = run_tool(args, cwd=project, gate=GATE, label="zizmor --offline")
    if ran.returncode != 0:
        return [_failed_to_run("zizmor", ran)]
    try:
        entries: list[dict[str, Any]] = json.loads(ran.stdout or "[]")
    except json.JSONDecodeError:
        return [_failed_to_run("zizmor", ran)]
    return [_zizmor_finding(entry) for entry in entries if not entry.get("ignored")]


def _zizmor_finding(entry: dict[str, Any]) -> Finding:
    locations: list[dict[str, Any]] = entry.get("locations") or []
    primary = next(
        (loc for loc in locations if loc.get("symbolic", {}).get("kind") == "Primary"),
        locations[0] if locations else {},
    )
    symbolic = primary.get("symbolic", {})
    key = symbolic.get("key", {})
    local = key.get("Local", {}) if isinstance(key, dict) else {}
    path = str(local.get("verbatim_path") or local.get("given_path") or "")
    start = primary.get("concrete", {}).get("location", {}).get("start_point", {})
    row = start.get("row")
    severity = entry.get("determinations", {}).get("severity", "")
    annotation = symbolic.get("annotation")
    message = str(entry.get("desc", ""))
    if annotation:
        message += f": {annotation}"
    if severity:
        message += f" (severity {str(severity).lower()})"
    return Finding(
        id=f"zizmor:{entry.get('ident', 'finding')}",
        message=message,
        path=path,
        line=row + 1 if isinstance(row, int) else None,
    )
