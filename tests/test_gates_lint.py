"""The lint gate against real ruff, mypy and zizmor on tiny projects."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests._gates import gate_markdown, run_gate

GATES = """
[tool.gates]
enabled = ["lint"]

[tool.gates.lint]
paths = ["src", "tests", "migrations"]
"""

# Pinned to a commit, no credentials kept, no permissions, a safe trigger: zizmor is quiet.
CLEAN_WORKFLOW = """
name: ci
on:
  push:
    branches: [main]
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
      - run: uv run gates all
"""

CLEAN = {
    "src/pkg/__init__.py": '''
        """A tiny package."""


        def add(a: int, b: int) -> int:
            return a + b
    ''',
    # a type error the project's own mypy configuration tells mypy to ignore
    "src/pkg/legacy.py": """
        def legacy(x: int) -> str:
            return x
    """,
    "tests/test_add.py": """
        from pkg import add


        def test_add() -> None:
            assert add(1, 2) == 3
    """,
    ".github/workflows/ci.yml": CLEAN_WORKFLOW,
}

MYPY_OVERRIDE = """
[[tool.mypy.overrides]]
module = "pkg.legacy"
ignore_errors = true
"""

# One problem per tool, each in its own file so no tool sees another tool's problem.
DIRTY = {
    **CLEAN,
    "src/pkg/unused.py": """
        import os

        X = 1
    """,
    "src/pkg/ugly.py": """
        X = {  "a":1}
    """,
    "src/pkg/typed.py": """
        def name(x: int) -> str:
            return x
    """,
    ".github/workflows/ci.yml": """
        name: ci
        on: pull_request_target
        permissions: {}
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
                with:
                  persist-credentials: false
              - uses: someone/some-action@v1
    """,
}


Outcome = tuple[int, dict[str, Any], str]


def lint(root: Path) -> Outcome:
    """Exit code, result file and Markdown summary of the lint gate on `root`."""
    code, result = run_gate("lint", root)
    return code, result, gate_markdown(root, "lint")


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, gates_project: Callable[..., Path]) -> Outcome:
    root = tmp_path_factory.mktemp("clean")
    return lint(gates_project(root, CLEAN, gates=GATES + MYPY_OVERRIDE))


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory, gates_project: Callable[..., Path]) -> Outcome:
    root = tmp_path_factory.mktemp("dirty")
    return lint(gates_project(root, DIRTY, gates=GATES + MYPY_OVERRIDE))


def test_clean_code_passes(clean: Outcome) -> None:
    code, result, _ = clean

    assert code == 0, result["findings"]
    assert result["status"] == "passed"
    assert result["metrics"] == {"ruff": 0, "format": 0, "mypy": 0, "zizmor": 0}


def test_configured_paths_without_python_are_skipped_with_a_note(clean: Outcome) -> None:
    _, _, markdown = clean

    assert "skipped paths without Python files: migrations" in markdown


@pytest.mark.parametrize(
    ("tool", "rule", "path", "line"),
    [
        ("ruff", "ruff:F401", "src/pkg/unused.py", 1),
        ("format", "format:unformatted", "src/pkg/ugly.py", 1),
        ("mypy", "mypy:return-value", "src/pkg/typed.py", 2),
        ("zizmor", "zizmor:dangerous-triggers", ".github/workflows/ci.yml", 2),
        ("zizmor", "zizmor:unpinned-uses", ".github/workflows/ci.yml", 11),
    ],
)
def test_each_tool_fails_the_gate_for_its_own_problem(
    dirty: Outcome, tool: str, rule: str, path: str, line: int
) -> None:
    code, result, _ = dirty

    assert code == 1
    assert result["status"] == "failed"
    found = [f for f in result["findings"] if f["id"] == rule]
    assert [(f["path"], f["line"]) for f in found] == [(path, line)]
    assert result["metrics"][tool] >= 1


def test_every_tool_is_reported_not_only_the_first(dirty: Outcome) -> None:
    _, result, _ = dirty

    assert result["metrics"] == {"ruff": 1, "format": 1, "mypy": 1, "zizmor": 2}
    assert len(result["findings"]) == 5


def test_the_project_mypy_configuration_applies(dirty: Outcome) -> None:
    _, result, _ = dirty

    assert not [f for f in result["findings"] if f["path"] == "src/pkg/legacy.py"]


def test_lint_prints_its_progress_and_findings(
    tmp_path: Path, gates_project: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    files = {"src/pkg/__init__.py": "import os\n"}
    root = gates_project(tmp_path, files, gates='[tool.gates.lint]\nworkflows = "none"\n')

    code, result = run_gate("lint", root)

    assert code == 1
    err = capsys.readouterr().err
    for tool in ("ruff check", "ruff format --check", "mypy --strict"):
        assert f"lint: running {tool}" in err
    assert "zizmor" not in err.split("lint....")[0], "no workflows directory, no zizmor"
    assert "src/pkg/__init__.py:1: ruff:F401" in err
    assert re.search(r"^lint\.+\(zizmor skipped\)Failed$", err, flags=re.MULTILINE)
    assert result["skipped"] == [{"check": "zizmor", "reason": "no none directory"}]
