"""Git for the gates that compare with a base revision: which base, and whether it exists."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ._proc import run_tool
from ._result import Finding

__all__ = ["BASE_ENV", "Repository", "base_revision", "missing_base_finding"]

#: Environment variable naming the base revision (CI sets the pull request's base commit).
BASE_ENV = "GATES_BASE"


def base_revision(configured: str) -> str:
    """CI knows the real base of a change: `$GATES_BASE` beats the configured `base`."""
    return os.environ.get(BASE_ENV, "").strip() or configured


def missing_base_finding(*, table: str, check: str, reason: str) -> Finding:
    """The failure of a check that `require-base = true` does not let skip."""
    return Finding(
        id="base-missing",
        message=(
            f"{check} cannot be compared: {reason}; {table} sets require-base = true. Fetch the "
            f"base (in GitHub Actions: actions/checkout with fetch-depth: 0) or point {BASE_ENV} "
            "at a revision that exists"
        ),
    )


class Repository:
    """Git commands run from a project directory (which may be a subdirectory of the work tree)."""

    def __init__(self, project: Path, *, gate: str) -> None:
        self.project = project
        self.gate = gate

    def run(self, *args: str) -> tuple[int, str]:
        """Exit code and stdout of `git ARGS`; 127 when git is not installed."""
        git = shutil.which("git")
        if git is None:
            return 127, ""
        ran = run_tool(
            [git, "-c", "core.quotepath=off", *args],
            cwd=self.project,
            gate=self.gate,
            label=f"git {args[0]}",
            quiet=True,
        )
        return ran.returncode, ran.stdout

    def missing_base(self, base: str) -> str | None:
        """Why `base` cannot be compared with (no repository, no such commit); None if it can."""
        code, _ = self.run("rev-parse", "--is-inside-work-tree")
        if code != 0:
            return "not a git repository"
        code, _ = self.run("rev-parse", "--verify", "--quiet", base + "^{commit}")
        if code != 0:
            return f"base `{base}` does not exist here"
        return None
