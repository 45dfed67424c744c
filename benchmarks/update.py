"""Update time of the default service from the newest release to this tree, next to a render.

The template repository holds the newest supported release of releases.toml and this working
tree as the next release (tests/_releases.py). Each sample starts from a service generated at
the release, locked (`uv lock`) and committed, as a team has it; only `copier update` is timed,
including its migrations (threshold ratchet, `uv lock` and a sync of an existing environment,
the API document). It runs both in the service as generated (its `.venv` in place, as on a
developer's machine) and in a fresh clone of it (no environment, as in a bot's update job).
Rendering the new release alone (`copier copy --skip-tasks`) is timed alongside as the
baseline: an update renders the template twice, merges, and runs those steps.

    uv run python -m benchmarks.update --repeat 5
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._timing import Samples, sh
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


def _timed(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    sh(args, cwd)
    return time.perf_counter() - start


def run(repeat: int) -> tuple[Samples, list[Samples], str]:
    """Samples of rendering the next release alone and of `copier update` to it.

    The update runs in a developer's checkout (its `.venv` in place) and in a fresh clone of
    the same service (no environment, as a bot's update job has it); the three alternate.
    """
    release = supported()[-1]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        template = template_repo(work / "paved", at=[release])
        update_s: list[float] = []
        clone_s: list[float] = []
        copy_s: list[float] = []
        for i in range(repeat):
            dst = work / f"copy-{i}"
            render = [COPIER, "copy", *QUIET, "--skip-tasks", str(template), str(dst)]
            copy_s.append(_timed(render, work))
            service = _service_at(template, release.tag, work / f"svc-{i}")
            clone = work / f"clone-{i}"
            sh(["git", "clone", "--quiet", str(service), str(clone)], work)
            update_s.append(_timed([COPIER, "update", *QUIET], service))
            clone_s.append(_timed([COPIER, "update", *QUIET], clone))
        path = f"{release.version} -> {next_version()}"
        return (
            Samples("copier copy --skip-tasks", tuple(copy_s)),
            [
                Samples("copier update (checkout with .venv)", tuple(update_s)),
                Samples("copier update (fresh clone, no .venv)", tuple(clone_s)),
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
