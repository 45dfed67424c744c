"""Update time of the default service from the newest release to this tree, next to a render.

The template repository holds the newest supported release of releases.toml and this working
tree as the next release (tests/_releases.py). Each sample starts from a service generated at
the release, locked (`uv lock`) and committed, as a team has it; only `copier update` is timed,
including its migrations (threshold ratchet, `uv lock`, the API document, which syncs the
environment). Rendering the new release alone (`copier copy --skip-tasks`) is timed alongside
as the baseline: an update renders the template three times, merges, and runs those steps.

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


def run(repeat: int) -> tuple[Samples, Samples, str]:
    """Samples of `copier update` (newest release to next) and of rendering the next alone."""
    release = supported()[-1]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        template = template_repo(work / "paved", at=[release])
        update_s: list[float] = []
        copy_s: list[float] = []
        for i in range(repeat):
            service = _service_at(template, release.tag, work / f"svc-{i}")
            update_s.append(_timed([COPIER, "update", *QUIET], service))
            dst = work / f"copy-{i}"
            render = [COPIER, "copy", *QUIET, "--skip-tasks", str(template), str(dst)]
            copy_s.append(_timed(render, work))
        path = f"{release.version} -> {next_version()}"
        return (
            Samples("copier update", tuple(update_s)),
            Samples("copier copy --skip-tasks", tuple(copy_s)),
            path,
        )


def main() -> None:
    """Measure and print the medians (`--repeat N`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    update, copy, path = run(args.repeat)
    print(f"update of the default service, {path}: wall time in s (with its migrations)")
    print("| operation | median | range | n | vs render |\n|---|---|---|---|---|")
    print(copy.row())
    print(update.row(copy))


if __name__ == "__main__":
    main()
