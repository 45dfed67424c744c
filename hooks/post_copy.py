"""After `copier copy`: a git repository, a locked environment and the committed API document.

Runs in the generated service's directory (copier's `_tasks`), with only the standard library.
The first commit of a service must pass its own gates, and CI installs with `uv sync --locked`,
so `uv.lock` and the API documents in `api/` are produced here rather than left for later.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

NEXT_STEPS = """
{name} is ready. Next:
  cd {path}
  git add -A && git commit -m "Start {name} from paved"
  make run    # serve on 127.0.0.1:8000 (PORT overrides{credentials})
  make test   # the service's own tests
  make gates  # every quality gate, as CI runs them
"""

#: What `make run` needs to know of the callers, per `auth` answer (README.md's quick start).
CREDENTIALS = {
    "jwt": "; ADMIN_EMAIL/ADMIN_PASSWORD seed an admin",
    "api_key": "; ADMIN_API_KEY is the first administrator's key",
    "oidc": "; OIDC_ISSUER/OIDC_AUDIENCE name the identity provider",
    "none": "; every route is public",
}


def next_steps(name: str, path: Path, auth: str) -> str:
    """What to do after the copy, with the credentials `auth` asks of `make run`."""
    return NEXT_STEPS.format(name=name, path=path, credentials=CREDENTIALS[auth])


def _say(message: str) -> None:
    print(f"paved: {message}", file=sys.stderr, flush=True)


def _inside_git_work_tree(path: Path) -> bool:
    probe = subprocess.run(
        ["git", "rev-parse", "--is-inside-work-tree"],
        cwd=path,
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.returncode == 0 and probe.stdout.strip() == "true"


def main(argv: list[str]) -> int:
    """Set up the service `argv[1]` (package `argv[2]`, auth `argv[3]`); print the next steps."""
    name, package, auth = argv[1], argv[2], argv[3]
    here = Path.cwd()
    if not _inside_git_work_tree(here):
        _say("initialising a git repository (patch coverage and `copier update` need history)")
        subprocess.run(["git", "init", "--quiet", "--initial-branch=main"], cwd=here, check=True)
    uv = shutil.which("uv")
    if uv is None:
        _say("uv is not installed: `pip install uv`, then run `uv sync && make api-spec` here")
        return 1
    # The service's own environment, whatever virtual environment copier itself runs in.
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    _say("locking and installing the environment (uv sync)")
    subprocess.run([uv, "sync", "--quiet"], cwd=here, env=env, check=True)
    if (here / "proto").is_dir():
        _say("generating the gRPC modules from proto/ (make proto)")
        subprocess.run(
            [uv, "run", "--frozen", "python", "-m", f"{package}.core.grpc.codegen"],
            cwd=here,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    _say("writing the API documents in api/ (make api-spec)")
    subprocess.run(
        [uv, "run", "--frozen", "python", "-m", f"{package}.openapi"], cwd=here, env=env, check=True
    )
    print(next_steps(name, here, auth), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
