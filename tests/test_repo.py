"""The repository's own contract: CI runs exactly the README's test command, and that
command's xdist groups go out longest first (tests/conftest.py)."""

from __future__ import annotations

import re

import pytest

from tests._template import ROOT

pytest_plugins = ("pytester",)


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


def test_groups_holding_a_long_test_go_out_first_then_the_largest(
    pytester: pytest.Pytester,
) -> None:
    # A module is a group unless its tests name their own; one `long` test moves its group.
    pytester.makepyfile(
        test_three="def test_1(): pass\ndef test_2(): pass\ndef test_3(): pass\n",
        test_one="def test_1(): pass\n",
        test_update="""
            import pytest

            @pytest.mark.long
            def test_from_a_release(): pass

            def test_quick(): pass
        """,
        test_matrix="""
            import pytest

            @pytest.mark.long
            @pytest.mark.xdist_group("service-a")
            def test_gates(): pass

            def test_pairs(): pass
        """,
    )

    result = pytester.runpytest("-p", "tests.conftest", "-p", "no:randomly", "--collect-only", "-q")

    collected = [line for line in result.outlines if "::" in line]
    assert collected == [
        "test_update.py::test_from_a_release",
        "test_update.py::test_quick",
        "test_matrix.py::test_gates",
        "test_three.py::test_1",
        "test_three.py::test_2",
        "test_three.py::test_3",
        "test_matrix.py::test_pairs",
        "test_one.py::test_1",
    ]
