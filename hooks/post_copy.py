"""After `copier copy`: a git repository with a first commit, a locked environment, API documents.

Runs in the generated service's directory (copier's `_tasks`), with only the standard library.
The first commit of a service must pass its own gates, and CI installs with `uv sync --locked`,
so `uv.lock` and the API documents in `api/` are produced here rather than left for later;
`copier update` merges against the last commit, so the service starts with one.

It never fails the copy (copier would delete the new service): a step that cannot run is
reported in one line with what to run instead, and the next steps list it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

if not __package__:  # run by copier as a script: import `hooks` from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hooks._common import service_env

#: What `make run` needs to know of the callers, per `auth` answer (README.md's quick start).
CREDENTIALS = {
    "jwt": "ADMIN_EMAIL/ADMIN_PASSWORD seed an admin",
    "api_key": "ADMIN_API_KEY is the first administrator's key",
    "oidc": "OIDC_ISSUER/OIDC_AUDIENCE name the identity provider",
    "none": "every route is public",
}

#: What creates the development database `make run` migrates, per server `database` answer.
CREATE_DATABASE = {
    "postgresql": "createdb -h 127.0.0.1 -U postgres {package}",
    "mysql": "mariadb -h 127.0.0.1 -u root -e 'CREATE DATABASE {package} CHARACTER SET utf8mb4'",
}


@dataclass(frozen=True, kw_only=True)
class Setup:
    """What the post-copy steps did, for the next steps: the commit, and what is left to run."""

    committed: bool = False
    todo: list[str] = field(default_factory=list)


def next_steps(
    name: str,
    path: Path,
    auth: str,
    *,
    package: str = "",
    database: str = "sqlite",
    setup: Setup | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """What to do after the copy: what is left of the setup, then how to run and check it.

    `make run` listens where `HOST` and `PORT` say (the Makefile and settings read them).
    """
    env = os.environ if environ is None else environ
    done = setup or Setup()
    address = f"{env.get('HOST') or '127.0.0.1'}:{env.get('PORT') or '8000'}"
    lines = [f"{name} is ready. Next:", f"  cd {path}"]
    lines += [f"  {step}" for step in done.todo]
    if not done.committed:
        lines.append(f'  git add -A && git commit -m "Start {name} from paved"')
    if database in CREATE_DATABASE:
        create = CREATE_DATABASE[database].format(package=package)
        lines.append(f"  {create}    # once: the database make run migrates")
    lines += [
        f"  make run    # serve on {address} ({CREDENTIALS[auth]})",
        "  make test   # the service's own tests",
        "  make gates  # every quality gate, as CI runs them",
    ]
    return "\n".join(["", *lines, ""])


def _say(message: str) -> None:
    print(f"paved: {message}", file=sys.stderr, flush=True)


def _run(args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> str | None:
    """Run a command quietly; None when it succeeds, else the last line it wrote."""
    try:
        done = subprocess.run(
            list(args), cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
    except OSError as error:
        return str(error)
    if done.returncode == 0:
        return None
    output = (done.stderr or done.stdout).strip().splitlines()
    return output[-1] if output else f"exit status {done.returncode}"


def _git(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


def start_repository(here: Path) -> bool:
    """Make `here` a git repository unless it is in one.

    Returns whether `here` is a repository's root with no commit yet (just initialised, or a
    clone of an empty repository), to commit into.
    """
    if shutil.which("git") is None:
        _say("git is not installed: the service is not a repository yet (`git init`)")
        return False
    top = _git(["rev-parse", "--show-toplevel"], here)
    if top.returncode != 0:
        _say("initialising a git repository (patch coverage and `copier update` need history)")
        return _git(["init", "--quiet", "--initial-branch=main"], here).returncode == 0
    unborn = _git(["rev-parse", "--verify", "--quiet", "HEAD"], here).returncode != 0
    return unborn and Path(top.stdout.strip()).resolve() == here.resolve()


def template_version(here: Path) -> str:
    """The paved release the service was copied from (`_commit` in its answers), or ""."""
    answers = here / ".copier-answers.yml"
    text = answers.read_text(encoding="utf-8") if answers.is_file() else ""
    recorded = re.search(r"^_commit: *['\"]?([^'\"\s]+)", text, re.MULTILINE)
    return recorded.group(1) if recorded else ""


def first_commit(here: Path, name: str) -> bool:
    """Commit everything as the service's first commit; say why when git cannot."""
    if _git(["var", "GIT_AUTHOR_IDENT"], here).returncode != 0:
        _say(
            "git has no identity (user.name and user.email), so no first commit was made: "
            'set them with `git config --global user.name "..."` (and user.email), then '
            "commit; `copier update` merges against that commit"
        )
        return False
    version = template_version(here)
    message = f"Start {name} from paved{' ' + version if version else ''}"
    failed = _run(["git", "add", "-A"], here) or _run(
        ["git", "commit", "--quiet", "-m", message], here
    )
    if failed:
        _say(f"the first commit failed ({failed}); commit the service yourself")
        return False
    _say(f'first commit: "{message}"')
    return True


def install(here: Path, package: str) -> list[str]:
    """Lock and install the environment, generate the gRPC modules, write the API documents.

    Returns the commands left to run, for those that could not.
    """
    uv = shutil.which("uv")
    if uv is None:
        _say("uv is not installed (`pip install uv`): the environment is not set up yet")
        return ["uv sync && make api-spec"]
    env = service_env()
    steps = [("locking and installing the environment", "uv sync", [uv, "sync", "--quiet"])]
    if (here / "proto").is_dir():
        codegen = [uv, "run", "--frozen", "python", "-m", f"{package}.core.grpc.codegen"]
        steps.append(("generating the gRPC modules from proto/", "make proto", codegen))
    openapi = [uv, "run", "--frozen", "python", "-m", f"{package}.openapi"]
    steps.append(("writing the API documents in api/", "make api-spec", openapi))
    for index, (doing, command, args) in enumerate(steps):
        _say(f"{doing} ({command})")
        failed = _run(args, here, env)
        if failed:
            left = [later for _, later, _ in steps[index:]]
            _say(f"`{command}` failed ({failed}); fix the cause, then run: {' && '.join(left)}")
            return [" && ".join(left)]
    return []


def main(argv: list[str]) -> int:
    """Set up the service: `argv` names it, its package, its auth and its database answers.

    Prints the next steps. Always 0: what could not be done is reported, not fatal.
    """
    name, package, auth, database = argv[1], argv[2], argv[3], argv[4]
    here = Path.cwd()
    fresh = start_repository(here)
    todo = install(here, package)
    committed = fresh and not todo and first_commit(here, name)
    setup = Setup(committed=committed, todo=todo)
    steps = next_steps(name, here, auth, package=package, database=database, setup=setup)
    print(steps, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
