"""`gates all` on a real project: every enabled gate runs after a failure, one summary."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from paved_gates._cli import main

GATES = """
[tool.gates]
enabled = ["lint", "tests", "coverage"]

[tool.gates.coverage]
total = 50

[tool.gates.coverage.critical]
"""

FILES = {
    "src/pkg/__init__.py": '''
        """A tiny package."""


        def add(a: int, b: int) -> int:
            return a + b
    ''',
    "tests/test_add.py": """
        from pkg import add


        def test_add() -> None:
            assert add(1, 2) == 3


        def test_wrong() -> None:
            assert add(2, 2) == 5
    """,
}


@pytest.fixture(scope="module")
def run_all(
    tmp_path_factory: pytest.TempPathFactory, gates_project: Callable[..., Path]
) -> tuple[int, Path, str]:
    """Run `gates all` once, with a job summary file, and keep what it printed."""
    root = gates_project(tmp_path_factory.mktemp("all"), FILES, gates=GATES)
    summary = root / "step-summary.md"
    capture = root / "stderr.txt"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GITHUB_STEP_SUMMARY", str(summary))
        patch.delenv("NO_COLOR", raising=False)
        patch.delenv("FORCE_COLOR", raising=False)
        with capture.open("w", encoding="utf-8") as stream:
            patch.setattr("sys.stderr", stream)
            code = main(["all", "--project", str(root)])
    return code, root, capture.read_text(encoding="utf-8")


def results(root: Path) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = json.loads((root / "gate-results" / "all.json").read_text())
    return listed


def test_every_enabled_gate_runs_after_a_failure(run_all: tuple[int, Path, str]) -> None:
    code, root, _ = run_all

    assert code == 1
    statuses = {r["gate"]: r["status"] for r in results(root)}
    assert statuses == {"lint": "passed", "tests": "failed", "coverage": "passed"}
    for gate in statuses:
        assert (root / "gate-results" / f"{gate}.json").is_file()


def test_one_summary_table_and_the_failure_are_printed(run_all: tuple[int, Path, str]) -> None:
    _, _, err = run_all

    table = err[err.index("\ngate ") :]
    rows = [line.split() for line in table.strip().splitlines()[1:]]
    assert [row[:2] for row in rows] == [
        ["lint", "passed"],
        ["tests", "failed"],
        ["coverage", "passed"],
    ]
    assert rows[0][-1] == "zizmor", "no workflows here: zizmor was skipped"
    assert rows[2][-1] == "patch", "not a git repository: patch coverage was skipped"
    assert "tests/test_add.py::test_wrong: assert 4 == 5" in err
    assert "\033[" not in err, "no colour when stderr is not a terminal"


def test_the_job_summary_gets_the_whole_run(run_all: tuple[int, Path, str]) -> None:
    _, root, _ = run_all

    summary = (root / "step-summary.md").read_text(encoding="utf-8")
    assert summary == (root / "gate-results" / "all.md").read_text(encoding="utf-8") + "\n"
    assert "| tests | failed | 1 |" in summary
    assert "gate `coverage`: passed" in summary
