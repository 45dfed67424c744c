"""Time to green: `copier copy` of the default service, `uv sync`, and its tests passing.

Measured with a warm uv cache (one unmeasured run fills it first), as a developer's second
service would be.

    uv run python -m benchmarks.time_to_green --repeat 3
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks._timing import COPY, ROOT, Samples, measure, sh


def green(where: Path) -> None:
    """Copy, sync and test one default service in `where`."""
    sh([*COPY, str(ROOT), str(where)], ROOT)
    sh(["uv", "sync", "--quiet"], where)
    sh(["make", "test"], where)


def run(repeat: int) -> Samples:
    """`repeat` timed runs from `copier copy` to a green `make test`, after one warm-up."""
    with tempfile.TemporaryDirectory() as tmp:
        green(Path(tmp) / "warm-up")
        return measure("copy + uv sync + make test", repeat, lambda i: green(Path(tmp) / f"s{i}"))


def main() -> None:
    """Measure and print the median (`--repeat N`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    samples = run(parser.parse_args().repeat)
    print("time to green of the default service (warm uv cache), wall time in s")
    print("| steps | median | range | n | |\n|---|---|---|---|---|")
    print(samples.row())


if __name__ == "__main__":
    main()
