"""This repository's own Python meets the standards it imposes on services: ruff and mypy."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests._template import ROOT

#: Every Python tree of the repository; the template's own files are checked as rendered.
PATHS = ("gates", "hooks", "tests", "benchmarks")


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["ruff", "check", "--no-fix", *PATHS], id="ruff-check"),
        pytest.param(["ruff", "format", "--check", *PATHS], id="ruff-format"),
        # the files and `strict = true` come from [tool.mypy] in pyproject.toml
        pytest.param(["mypy"], id="mypy-strict"),
    ],
)
def test_the_repository_passes_its_own_linters(command: list[str]) -> None:
    ran = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert ran.returncode == 0, ran.stdout + ran.stderr
