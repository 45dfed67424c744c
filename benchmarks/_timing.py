"""Timing helpers for the benchmarks: wall-clock samples of whole commands, reported as medians."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: `copier copy` of this repo's venv, as a user's shell starts it (no `uv run` in the timing),
#: rendering this checkout: without `--vcs-ref`, copier takes the newest release tag.
COPY = [
    str(Path(sys.executable).with_name("copier")),
    *("copy", "--quiet", "--defaults", "--trust", "--vcs-ref", "HEAD"),
]


@dataclass(frozen=True)
class Samples:
    """Wall-clock samples of one benchmark, in seconds."""

    name: str
    seconds: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def row(self, baseline: Samples | None = None) -> str:
        ratio = f"{self.median / baseline.median:.2f}x" if baseline else ""
        spread = f"{min(self.seconds):.3f}-{max(self.seconds):.3f}"
        return f"| {self.name} | {self.median:.3f} | {spread} | {len(self.seconds)} | {ratio} |"


def clean_env() -> dict[str, str]:
    """The environment a user's shell would have: no venv of this repo, no Python downloads."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    return env


def sh(args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> None:
    """Run a command, failing loudly (a benchmark of a failing command measures nothing).

    It runs in ``env``, by default the environment a user's shell would have (``clean_env``).
    """
    proc = subprocess.run(
        list(args),
        cwd=cwd,
        env=clean_env() if env is None else env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed in {cwd}:\n{proc.stdout}{proc.stderr}")


def measure(name: str, repeat: int, once: Callable[[int], None]) -> Samples:
    """Time `once(i)` `repeat` times; each call gets its own index for its own directories."""
    seconds = []
    for i in range(repeat):
        start = time.perf_counter()
        once(i)
        seconds.append(time.perf_counter() - start)
    return Samples(name, tuple(seconds))


def subset_of(allowed: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    """An argparse type: a comma-separated subset of `allowed`, refused naming the choices."""

    def parse(value: str) -> tuple[str, ...]:
        names = tuple(value.split(","))
        unknown = [name for name in names if name not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(map(repr, unknown))}; choose from {', '.join(allowed)}"
            )
        return names

    return parse
