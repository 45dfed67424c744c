"""CPU per request of a generated service's application, called in process through ASGI.

    uv run --locked python -m benchmarks.in_process [--against REF] [--variant NAME=VALUE ...]

Generates the default service (SQLite, `jwt`, `otel`) at `--vcs-ref` and migrates a fresh
database, then runs `benchmarks/_asgi_driver.py` with the service's Python: production
settings, spans exported to a local OTLP sink, stdout a pipe drained by `cat` (as in a
container). Each round calls the application `--requests` times per endpoint and reads the
process's CPU time, so the figures leave out servers, sockets and clients: what the
application itself spends. With `--against REF`, a service generated at REF runs in the same
rounds; each `--variant` (an environment setting) runs as a build of its own. Rounds
alternate between builds so the machine's noise hits each alike; the table gives medians
and each build's ratio to the first.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from benchmarks._load import OtlpSink, drain
from benchmarks._timing import ROOT
from benchmarks.throughput import fresh_database, generate, migrate, service_env

DRIVER = ROOT / "benchmarks" / "_asgi_driver.py"
ENDPOINTS = ("get", "list", "post")


@dataclass(frozen=True)
class Build:
    """A service to measure: where it was generated, and the settings it runs with."""

    name: str
    service: Path
    env: dict[str, str]


def cpu_per_request(build: Build, endpoint: str, requests: int) -> float:
    """One round: the microseconds of CPU the application spent per request."""
    stdout = drain(subprocess.DEVNULL)
    done = subprocess.run(
        [str(build.service / ".venv" / "bin" / "python"), str(DRIVER), endpoint, str(requests)],
        cwd=build.service,
        env=build.env,
        stdout=stdout.stdin,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    assert stdout.stdin is not None
    stdout.stdin.close()
    stdout.wait()
    line = next((x for x in reversed(done.stderr.splitlines()) if x.startswith("CPU_US ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"{build.name} {endpoint} failed:\n{done.stderr[-3000:]}")
    return float(line.split()[1])


def main() -> None:
    """Generate the builds, run the alternated rounds, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vcs-ref", default="HEAD")
    parser.add_argument("--against", help="a template ref measured in the same rounds")
    parser.add_argument("--variant", action="append", default=[], help="NAME=VALUE setting")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="paved-inproc-")))
        sink = stack.enter_context(OtlpSink())
        refs = [args.vcs_ref] + ([args.against] if args.against else [])
        builds: list[Build] = []
        for ref in refs:
            print(f"  generating the service at {ref}", flush=True)
            service = generate("sqlite", work / ref.replace("/", "-"), ref)
            database = stack.enter_context(fresh_database("sqlite", work))
            migrate(service, database)
            env = {**service_env(database, sink=sink, workers=1), "BENCH_PACKAGE": "my_service"}
            builds.append(Build(ref, service, env))
        for variant in args.variant:
            name, _, value = variant.partition("=")
            base = builds[0]
            builds.append(Build(f"{base.name} {variant}", base.service, {**base.env, name: value}))

        samples: dict[tuple[str, str], list[float]] = {}
        endpoints = args.endpoints.split(",")
        for round_ in range(1, args.rounds + 1):
            for endpoint in endpoints:
                for build in builds:
                    spent = cpu_per_request(build, endpoint, args.requests)
                    samples.setdefault((build.name, endpoint), []).append(spent)
                    print(
                        f"  round {round_}  {endpoint:5} {build.name:30} {spent:7.0f} µs",
                        flush=True,
                    )

    print(f"\nCPU µs per request, medians of {args.rounds} alternated rounds of {args.requests}:\n")
    print("| build | " + " | ".join(endpoints) + " |")
    print("|---|" + "---|" * len(endpoints))
    for build in builds:
        cells = []
        for endpoint in endpoints:
            median = statistics.median(samples[(build.name, endpoint)])
            first = statistics.median(samples[(builds[0].name, endpoint)])
            cells.append(
                f"{median:.0f}" + ("" if build is builds[0] else f" (x{median / first:.2f})")
            )
        print(f"| {build.name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
