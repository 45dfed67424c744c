"""After `copier update`: rewrite the committed API document from the merged code.

A release can change what the service's API serves (auth routes, problem details, headers),
while `api/openapi.json` belongs to the team (copier never renders it). This `_migrations`
task regenerates it the way `make api-spec` does, after `hooks/relock.py`, so the update's
pull request shows the API change and `gates api-compat` judges whether it breaks clients.
Standard library only; it never fails the update: when it cannot write the document, it says
why and what to run.

    python hooks/api_document.py <package>
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

if not __package__:  # run by copier as a script: import `hooks` from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hooks._common import has_conflict_markers, service_env, unmerged_paths


def _command(here: Path, package: str) -> list[str] | None:
    """How to run `<package>.openapi`: in the service's environment, else in a new one.

    `hooks/relock.py` has just synced an existing `.venv` to the new lock, so its interpreter
    runs the module as is. Without one (a bot's fresh checkout), `uv run` creates it with the
    runtime dependencies only: the dev group (test tools, the vendored gates' build) is not
    needed to import the application.
    """
    for python in (here / ".venv" / "bin" / "python", here / ".venv" / "Scripts" / "python.exe"):
        if python.is_file():
            return [str(python), "-m", f"{package}.openapi"]
    uv = shutil.which("uv")
    if uv is None:
        return None
    return [uv, "run", "--locked", "--no-dev", "--quiet", "python", "-m", f"{package}.openapi"]


def main(argv: list[str]) -> int:
    """Regenerate the API documents in `api/` of the service in the current directory, if any."""
    if len(argv) != 2:  # the script and the package
        print("usage: api_document.py <package>", file=sys.stderr)
        return 2
    package = argv[1]
    here = Path.cwd()
    if not (here / "src" / package / "openapi.py").is_file():
        return 0  # no REST API, so no OpenAPI document
    pyproject = (here / "pyproject.toml").read_text(encoding="utf-8")
    if unmerged_paths(here) or has_conflict_markers(pyproject):
        print(
            "api-document: resolve the conflicts, then run `make api-spec` and commit "
            "the API documents in api/.",
            file=sys.stderr,
        )
        return 0
    command = _command(here, package)
    if command is None:
        print("api-document: uv is not on PATH; run `make api-spec`.", file=sys.stderr)
        return 0
    env = service_env()
    written = subprocess.run(
        command,
        cwd=here,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if written.returncode != 0:
        print(
            "api-document: could not write the API documents; fix the cause, then run "
            f"`make api-spec`:\n{written.stderr[-3000:]}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
