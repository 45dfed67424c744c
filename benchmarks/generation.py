"""Generation time of the default service, next to a verbatim template of the same size.

The baseline holds the same files as the rendered default service but no Jinja and no
questions, so the ratio isolates what paved's questions and templates cost on top of copier
itself; both render with `--skip-tasks`. The third row is a user's whole `copier copy --trust`,
whose post-copy task also locks and installs the environment (`uv sync`, warm cache) and writes
api/openapi.json. Samples alternate between the three so machine noise hits all alike. Run it
on a clean checkout: uncommitted changes make copier commit them first, which it times too.

    uv run python -m benchmarks.generation --repeat 15
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks._timing import COPY, ROOT, Samples, clean_env, sh

RENDER = [*COPY, "--skip-tasks"]


def _baseline_template(rendered: Path, where: Path) -> Path:
    """A git repo whose template/ holds the rendered files verbatim (no `.jinja`, no questions)."""
    repo = where / "baseline"
    shutil.copytree(rendered, repo / "template", ignore=shutil.ignore_patterns(".git"))
    (repo / "copier.yml").write_text("_subdirectory: template\nname:\n  type: str\n  default: x\n")
    for args in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "base"]):
        sh(args, repo)
    return repo


def _file_count(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file() and ".git" not in p.parts)


def run(repeat: int) -> tuple[list[Samples], int]:
    """`repeat` renders of the template and of the baseline; and the rendered file count."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sh([*RENDER, str(ROOT), str(work / "probe")], ROOT)
        files = _file_count(work / "probe")
        baseline = _baseline_template(work / "probe", work)
        sh([*COPY, str(ROOT), str(work / "warm-up")], ROOT)  # fills uv's cache for this lock
        kinds = {
            "baseline (verbatim, same files)": (RENDER, baseline),
            "paved default, render only": (RENDER, ROOT),
            "paved default, with post-copy task": (COPY, ROOT),
        }
        samples: dict[str, list[float]] = {name: [] for name in kinds}
        for i in range(repeat):
            for n, (name, (command, src)) in enumerate(kinds.items()):
                samples[name].append(_timed([*command, str(src), str(work / f"out-{n}-{i}")]))
        return [Samples(name, tuple(s)) for name, s in samples.items()], files


def _timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=ROOT, env=clean_env(), check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    """Measure and print the medians (`--repeat N`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    (baseline, *paved), files = run(args.repeat)
    print(f"generation of the default service ({files} files), `copier copy` wall time in s")
    print("| template | median | range | n | vs baseline |\n|---|---|---|---|---|")
    print(baseline.row())
    for samples in paved:
        print(samples.row(baseline))


if __name__ == "__main__":
    main()
