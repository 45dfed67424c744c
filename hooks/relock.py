"""After `copier update`: regenerate `uv.lock` from the merged `pyproject.toml`.

The lock file is never part of the template (copier.yml `_exclude`), so copier never merges it
line by line; this `_migrations` task re-resolves it instead with `uv lock`, which keeps every
pin that still satisfies the merged requirements. Where the service already has an environment
(`.venv`, a developer's checkout), it is synced to the new lock, with the vendored gates rebuilt
when the update changed them: `tools/gates` may change within one version, and uv would keep
the old build. Standard library only. It never fails the update: when it cannot lock, it says
why and what to run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

if not __package__:  # run by copier as a script: import `hooks` from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hooks._common import has_conflict_markers, service_env

#: The gates package every service vendors as `tools/gates` (a path dependency).
VENDORED_GATES = "paved-gates"


def _gates_changed(here: Path) -> bool:
    """Whether `tools/gates` differs from the last commit (True when git cannot tell)."""
    status = subprocess.run(
        ["git", "status", "--porcelain", "--", "tools/gates"],
        cwd=here,
        capture_output=True,
        text=True,
        check=False,
    )
    return status.returncode != 0 or bool(status.stdout.strip())


def main() -> int:
    """Run `uv lock` in the service in the current directory, if it can succeed."""
    here = Path.cwd()
    pyproject = here / "pyproject.toml"
    if not pyproject.is_file():
        return 0
    if has_conflict_markers(pyproject.read_text(encoding="utf-8")):
        print(
            "relock: pyproject.toml has merge conflicts; resolve them, then run `uv lock`.",
            file=sys.stderr,
        )
        return 0
    uv = shutil.which("uv")
    if uv is None:
        print("relock: uv is not on PATH; run `uv lock` before committing.", file=sys.stderr)
        return 0
    env = service_env()
    locked = subprocess.run(
        [uv, "lock", "--quiet"], cwd=here, env=env, capture_output=True, text=True, check=False
    )
    if locked.returncode != 0:
        print(
            f"relock: `uv lock` failed; fix pyproject.toml and run it again:\n{locked.stderr}",
            file=sys.stderr,
        )
        return 0
    if (here / ".venv").is_dir():
        # Rebuilding the vendored gates costs seconds: only when this update changed them.
        rebuild = ["--reinstall-package", VENDORED_GATES] if _gates_changed(here) else []
        synced = subprocess.run(
            [uv, "sync", "--locked", "--quiet", *rebuild],
            cwd=here,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if synced.returncode != 0:
            print(
                "relock: could not sync .venv to the new lock; run "
                f"`uv sync --reinstall-package {VENDORED_GATES}`:\n{synced.stderr[-3000:]}",
                file=sys.stderr,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
