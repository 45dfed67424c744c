"""Service repositories for the audit's tests and benchmark: generated at a release, then edited.

`generate` runs the real `copier copy` at a tag of a template repository (tests/_releases.py),
so a test's fleet is exactly what teams have; `write_service` writes already rendered files
(the audit's own renderer, held equal to copier by tests/test_audit_render.py) for fleets too
large to generate one `copier copy` at a time. Both commit the result as the service's HEAD.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from copier import run_copy

__all__ = ["commit_all", "edit", "generate", "write_service"]

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Service Team",
    "GIT_AUTHOR_EMAIL": "team@example.com",
    "GIT_COMMITTER_NAME": "Service Team",
    "GIT_COMMITTER_EMAIL": "team@example.com",
}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args],
        cwd=repo,
        env={**os.environ, **_GIT_ENV},
        capture_output=True,
        check=True,
    )


def commit_all(repo: Path, message: str = "service") -> Path:
    """Commit every file of `repo`'s work tree (a repository is created when missing)."""
    if not (repo / ".git").exists():
        _git(repo, "init", "--quiet", "--initial-branch=main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "--quiet", "--no-verify", "--allow-empty", "-m", message)
    return repo


def generate(template: Path, dst: Path, answers: Mapping[str, Any], *, tag: str) -> Path:
    """`copier copy` of `template` at `tag` with `answers` into `dst`, committed."""
    run_copy(
        str(template),
        dst,
        data=dict(answers),
        defaults=True,
        unsafe=True,
        skip_tasks=True,
        vcs_ref=tag,
        quiet=True,
    )
    return commit_all(dst, f"Generate from paved {tag}")


def write_service(dst: Path, files: Mapping[str, bytes]) -> Path:
    """A service repository holding `files` (a render), committed."""
    for path, content in files.items():
        target = dst / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return commit_all(dst, "Generate")


def edit(repo: Path, path: str, old: str, new: str) -> None:
    """Replace `old` (which must be there) with `new` in one file of the work tree."""
    target = repo / path
    text = target.read_text(encoding="utf-8")
    if old not in text:
        raise AssertionError(f"{path} does not hold {old!r}")
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
