"""CPU per request of a generated service's application, called in process through ASGI.

    uv run --locked python -m benchmarks.in_process [--against REF] [--variant NAME=VALUE ...]
        [--auth jwt,api_key] [--database sqlite|postgresql]

Generates the default service (SQLite, `jwt`, `otel`) at `--vcs-ref` and migrates a fresh
database, then runs `benchmarks/_asgi_driver.py` with the service's Python: production
settings, spans exported to a local OTLP sink, stdout a pipe drained by `cat` (as in a
container). Each round calls the application `--requests` times per endpoint and reads the
process's CPU time, so the figures leave out servers, sockets and clients: what the
application itself spends. With `--against REF`, a service generated at REF runs in the same
rounds; each `--variant` (an environment setting) runs as a build of its own; `--auth
jwt,api_key` generates the service once per authentication (api_key: the administrator's key
sent in `X-API-Key`), and `--database postgresql` runs on a fresh PostgreSQL database
instead of SQLite. Rounds alternate between builds so the machine's noise hits each alike;
the table gives medians and each build's ratio to the first.

With `--instructions`, each round counts instructions instead of CPU time: the driver runs
under valgrind's callgrind (`apt-get install valgrind`) for `--requests` calls and again for
twice as many, and the difference, per request, leaves out start-up and warm-up. Counts move
far less with the machine's load than CPU time does: only timer-driven work (span export,
log flushes) grows with a slower run. Rounds of one build differed by 0.2-5 % with the test
suite running beside them, where CPU time moves 10-30 % on a quiet machine. The code runs
about 50 times slower under callgrind, hence fewer requests.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from benchmarks._load import OtlpSink, drain
from benchmarks._timing import ROOT, subset_of
from benchmarks.throughput import DATABASES, fresh_database, generate, migrate, service_env

DRIVER = ROOT / "benchmarks" / "_asgi_driver.py"
ENDPOINTS = ("get", "list", "post")
AUTHS = ("jwt", "api_key")
CALLGRIND = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
COLLECTED = re.compile(r"Collected : (\d+)")


@dataclass(frozen=True)
class Build:
    """A service to measure: where it was generated, and the settings it runs with."""

    name: str
    service: Path
    env: dict[str, str]


def _drive(build: Build, endpoint: str, requests: int, *, prefix: list[str]) -> str:
    """Run the driver (under `prefix`, if any) with stdout piped and drained; its stderr."""
    stdout = drain(subprocess.DEVNULL)
    python = str(build.service / ".venv" / "bin" / "python")
    done = subprocess.run(
        [*prefix, python, str(DRIVER), endpoint, str(requests)],
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
    if done.returncode != 0 or "CPU_US " not in done.stderr:
        raise SystemExit(f"{build.name} {endpoint} failed:\n{done.stderr[-3000:]}")
    return done.stderr


def cpu_per_request(build: Build, endpoint: str, requests: int) -> float:
    """One round: the microseconds of CPU the application spent per request."""
    stderr = _drive(build, endpoint, requests, prefix=[])
    line = next(x for x in reversed(stderr.splitlines()) if x.startswith("CPU_US "))
    return float(line.split()[1])


def instructions_per_request(build: Build, endpoint: str, requests: int) -> float:
    """One round: thousands of instructions per request, from two runs under callgrind."""
    counts = []
    for n in (requests, 2 * requests):
        found = COLLECTED.search(_drive(build, endpoint, n, prefix=CALLGRIND))
        if found is None:
            raise SystemExit(f"{build.name} {endpoint}: callgrind reported no count")
        counts.append(int(found.group(1)))
    return (counts[1] - counts[0]) / requests / 1000


#: The administrator's key when a build takes API keys (the service creates it at startup).
ADMIN_API_KEY = "sk_admin_" + "k" * 43


def command_line() -> argparse.ArgumentParser:
    """The options; a name it does not know is a usage error that lists the choices."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vcs-ref", default="HEAD")
    parser.add_argument("--against", help="a template ref measured in the same rounds")
    parser.add_argument("--variant", action="append", default=[], help="NAME=VALUE setting")
    parser.add_argument("--endpoints", type=subset_of(ENDPOINTS), default=ENDPOINTS)
    parser.add_argument("--auth", type=subset_of(AUTHS), default=AUTHS[:1])
    parser.add_argument("--database", choices=DATABASES, default=DATABASES[0])
    parser.add_argument("--requests", type=int, help="per round (3000; 200 with --instructions)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions (callgrind), not CPU"
    )
    return parser


def generate_builds(args: argparse.Namespace, stack: ExitStack) -> list[Build]:
    """One build per ref and authentication, each on a fresh database, then the variants."""
    work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="paved-inproc-")))
    sink = stack.enter_context(OtlpSink())
    refs = [args.vcs_ref] + ([args.against] if args.against else [])
    builds: list[Build] = []
    for ref in refs:
        for auth in args.auth:
            name = ref if len(args.auth) == 1 else f"{ref} auth={auth}"
            print(f"  generating the service: {name}", flush=True)
            service = generate(args.database, work / ref.replace("/", "-"), ref, auth=auth)
            database = stack.enter_context(fresh_database(args.database, work))
            migrate(service, database)
            env = {**service_env(database, sink=sink, workers=1), "BENCH_PACKAGE": "my_service"}
            if auth == "api_key":
                env["ADMIN_API_KEY"] = ADMIN_API_KEY
            if args.instructions:  # about 50 times slower: the sign-in outlasts the deadline
                env["DB_DEADLINE_SECONDS"] = "600"
            builds.append(Build(name, service, env))
    for variant in args.variant:
        name, _, value = variant.partition("=")
        base = builds[0]
        builds.append(Build(f"{base.name} {variant}", base.service, {**base.env, name: value}))
    return builds


def main() -> None:
    """Generate the builds, run the alternated rounds, print the table."""
    args = command_line().parse_args()
    measure = instructions_per_request if args.instructions else cpu_per_request
    unit = "k instructions" if args.instructions else "µs"
    requests = args.requests or (200 if args.instructions else 3000)

    with ExitStack() as stack:
        builds = generate_builds(args, stack)

        if args.instructions:
            for build in builds:  # once, so that no counted run compiles the modules (.pyc)
                _drive(build, ENDPOINTS[0], 1, prefix=[])
        samples: dict[tuple[str, str], list[float]] = {}
        endpoints = args.endpoints
        for round_ in range(1, args.rounds + 1):
            for endpoint in endpoints:
                for build in builds:
                    spent = measure(build, endpoint, requests)
                    samples.setdefault((build.name, endpoint), []).append(spent)
                    print(
                        f"  round {round_}  {endpoint:5} {build.name:30} {spent:7.0f} {unit}",
                        flush=True,
                    )

    what = "Thousands of instructions" if args.instructions else "CPU µs"
    print(f"\n{what} per request, medians of {args.rounds} alternated rounds of {requests}:\n")
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
