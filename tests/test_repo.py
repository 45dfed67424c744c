"""The repository's own contract: CI runs exactly the README's test command."""

from __future__ import annotations

import re

from tests._template import ROOT


def _readme_test_command() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"# run this repository's full test suite\n(.+)\n", readme)
    assert block, "README.md lost its test command"
    return block.group(1).strip()


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()

    assert _readme_test_command() in ci
    assert "set -euo pipefail" in ci


def test_repository_layout_of_the_brief() -> None:
    for path in ("copier.yml", "template", "gates", "hooks", "docs", "tests", "benchmarks"):
        assert (ROOT / path).exists(), path
    assert (ROOT / "template" / "tools" / "gates").resolve() == (ROOT / "gates").resolve()
