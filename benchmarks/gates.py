"""Wall time of `gates all` and of `gates flake` (default runs) on a fresh default service.

The service is generated once (its post-copy task locks and installs the environment); then
the two commands alternate, so machine noise hits both alike. The deps gate asks a local OSV
service over the PyPA advisory snapshot, so no sample depends on the network.

    uv run python -m benchmarks.gates --repeat 3
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks._timing import COPY, ROOT, Samples, clean_env, sh
from tests.osv_server import serve

COMMANDS = {
    "gates all (7 gates)": ["uv", "run", "--frozen", "gates", "all"],
    "gates flake (5 runs)": ["uv", "run", "--frozen", "gates", "flake"],
}


def run(repeat: int) -> list[Samples]:
    """`repeat` timed runs of each command in COMMANDS on one generated service."""
    with tempfile.TemporaryDirectory() as tmp, serve() as osv:
        service = Path(tmp) / "my-service"
        sh([*COPY, str(ROOT), str(service)], ROOT)
        env = {**clean_env(), "GATES_OSV_URL": osv.url}
        samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
        for _ in range(repeat):
            for name, command in COMMANDS.items():
                start = time.perf_counter()
                done = subprocess.run(
                    command, cwd=service, env=env, capture_output=True, check=False
                )
                samples[name].append(time.perf_counter() - start)
                if done.returncode != 0:
                    raise SystemExit(f"{name} failed:\n{done.stderr.decode()[-3000:]}")
        return [Samples(name, tuple(s)) for name, s in samples.items()]


def main() -> None:
    """Measure and print the medians (`--repeat N`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    results = run(parser.parse_args().repeat)
    print("gates on a fresh default service, wall time in s (2 cores)")
    print("| command | median | range | n | vs gates all |\n|---|---|---|---|---|")
    print(results[0].row())
    print(results[1].row(results[0]))


if __name__ == "__main__":
    main()
