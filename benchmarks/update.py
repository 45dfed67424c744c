"""Update time of the default service from the newest release to this tree, next to a render.

The template repository holds the newest supported release of releases.toml and this working
tree as the next release (tests/_releases.py). Each sample starts from a service generated
at the release, locked (`uv lock`) and committed, as a team has it; only `copier update` is
timed, including its migrations (threshold ratchet, `uv lock` and a sync of an existing
environment, the API document). It runs in the service as generated (its `.venv` in place,
as on a developer's machine), in a fresh clone of it (no environment, as in a bot's update
job), and in another fresh clone with no `uv` on the `PATH`: there the lock and API-document
steps only say what to run, which leaves copier's own work. Rendering the new release alone
(`copier copy --skip-tasks`) is timed alongside as the baseline: an update renders the
template three times, merges, and runs those steps.

    uv run python -m benchmarks.update --repeat 5
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._timing import Samples, clean_env, sh
from tests._releases import next_version, supported, template_repo

#: copier of this repo's venv, as a user's shell would start it (no `uv run` in the timing).
COPIER = str(Path(sys.executable).with_name("copier"))
QUIET = ["--quiet", "--defaults", "--trust"]


def _service_at(template: Path, ref: str, dst: Path) -> Path:
    sh([COPIER, "copy", *QUIET, "--vcs-ref", ref, str(template), str(dst)], template)
    sh(["uv", "lock", "--quiet"], dst)
    sh(["git", "add", "-A"], dst)
    sh(["git", "commit", "--quiet", "--no-verify", "--allow-empty", "-m", "generated"], dst)
    return dst


def _timed(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    sh(args, cwd, env)
    return time.perf_counter() - start


def _without_uv() -> dict[str, str]:
    """A user's environment with no directory on the `PATH` that holds `uv`."""
    env = clean_env()
    env["PATH"] = os.pathsep.join(
        folder for folder in env["PATH"].split(os.pathsep) if not (Path(folder) / "uv").exists()
    )
    return env


def run(repeat: int) -> tuple[Samples, list[Samples], str]:
    """Samples of rendering the next release alone and of `copier update` to it.

    The update runs in a developer's checkout (its `.venv` in place), in a fresh clone of the
    same service (no environment, as a bot's update job has it) and in another with no `uv`
    on the `PATH` (copier's own work); the four alternate.
    """
    release = supported()[-1]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        template = template_repo(work / "paved", at=[release])
        update_s: list[float] = []
        clone_s: list[float] = []
        no_uv_s: list[float] = []
        copy_s: list[float] = []
        for i in range(repeat):
            dst = work / f"copy-{i}"
            render = [COPIER, "copy", *QUIET, "--skip-tasks", str(template), str(dst)]
            copy_s.append(_timed(render, work))
            service = _service_at(template, release.tag, work / f"svc-{i}")
            clone, no_uv = work / f"clone-{i}", work / f"no-uv-{i}"
            for fresh in (clone, no_uv):
                sh(["git", "clone", "--quiet", str(service), str(fresh)], work)
            update_s.append(_timed([COPIER, "update", *QUIET], service))
            clone_s.append(_timed([COPIER, "update", *QUIET], clone))
            no_uv_s.append(_timed([COPIER, "update", *QUIET], no_uv, _without_uv()))
        path = f"{release.version} -> {next_version()}"
        return (
            Samples("copier copy --skip-tasks", tuple(copy_s)),
            [
                Samples("copier update (checkout with .venv)", tuple(update_s)),
                Samples("copier update (fresh clone, no .venv)", tuple(clone_s)),
                Samples("copier update (fresh clone, no uv on the PATH)", tuple(no_uv_s)),
            ],
            path,
        )


def main() -> None:
    """Measure and print the medians (`--repeat N`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    copy, updates, path = run(args.repeat)
    print(f"update of the default service, {path}: wall time in s (with its migrations)")
    print("| operation | median | range | n | vs render |\n|---|---|---|---|---|")
    print(copy.row())
    for update in updates:
        print(update.row(copy))


if __name__ == "__main__":
    main()
