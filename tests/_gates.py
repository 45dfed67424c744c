"""Running one gate in-process through the `gates` CLI, and reading what it wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from paved_gates._cli import main

__all__ = ["finding_ids", "gate_markdown", "run_gate"]


def run_gate(gate: str, project: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """Run `gates GATE --project PROJECT ARGS`: its exit code and result file ({} if none)."""
    code = main([gate, "--project", str(project), *args])
    path = project / "gate-results" / f"{gate}.json"
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return code, result


def gate_markdown(project: Path, gate: str) -> str:
    """The Markdown summary the gate wrote beside its result file."""
    return (project / "gate-results" / f"{gate}.md").read_text(encoding="utf-8")


def finding_ids(result: dict[str, Any]) -> list[str]:
    """The ids of a result's findings, in order."""
    return [str(finding["id"]) for finding in result["findings"]]
