"""The `flake` gate: rerun the suite with different seeds; flaky, broken and quarantined tests."""

from __future__ import annotations

import datetime as dt
import importlib.util
import itertools
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from ._config import Table
from ._errors import ConfigError, ToolError
from ._proc import python_module, run_tool
from ._quarantine import Quarantine, utc_today
from ._quarantine import parse as parse_quarantine
from ._report_log import Report
from ._report_log import read as read_report_log
from ._result import Finding, GateResult, Status

__all__ = ["RUNS_ENV", "RUN_ENV", "FlakeConfig", "configure", "run"]

GATE = "flake"
#: Overrides `[tool.gates.flake] runs`, for a scheduled job that reruns the suite more often.
RUNS_ENV = "GATES_FLAKE_RUNS"
#: Set in each run's environment to its number (1, 2, ...), so tests that need an external
#: resource (a database, a port, a directory) can give concurrent runs their own.
RUN_ENV = "GATES_FLAKE_RUN"
#: Findings that fail the gate come first, then the ones that only inform.
_ORDER = {
    kind: rank
    for rank, kind in enumerate(
        (
            "flaky",
            "quarantine-expired",
            "quarantine-invalid",
            "run-incomplete",
            "quarantined",
            "broken",
        )
    )
}


@dataclass(frozen=True, kw_only=True)
class FlakeConfig:
    """`[tool.gates.flake]`."""

    runs: int = 5
    budget: float = 0.0
    parallel: int = 2
    seed: int = 1
    pytest_args: tuple[str, ...] = ()

    @classmethod
    def from_table(cls, table: Table) -> Self:
        """Validate `[tool.gates.flake]`; `$GATES_FLAKE_RUNS` overrides `runs`.

        Raises:
            ConfigError: naming the offending key (or the environment variable).
        """
        runs = table.integer("runs", cls.runs, minimum=2)
        override = os.environ.get(RUNS_ENV, "").strip()
        if override:
            if not override.isdigit() or int(override) < 2:
                raise ConfigError(
                    key=RUNS_ENV, message=f"must be an integer of at least 2, got {override!r}"
                )
            runs = int(override)
        return cls(
            runs=runs,
            budget=table.number("budget", cls.budget, minimum=0, maximum=1),
            parallel=table.integer("parallel", cls.parallel, minimum=1),
            seed=table.integer("seed", cls.seed, minimum=0),
            pytest_args=_pytest_args(table),
        )

    def seeds(self) -> tuple[int, ...]:
        """The pytest-randomly seed of each run: `seed`, `seed + 1`, ... (reproducible)."""
        return tuple(self.seed + k for k in range(self.runs))


#: Options each run sets itself; `pytest-args` would silently override them.
_OWN_OPTIONS = ("--randomly-seed", "--report-log", "--basetemp")
#: Plugins the runs need.
_NEEDED_PLUGINS = ("randomly", "pytest_reportlog", "reportlog", "paved_gates")


def _pytest_args(table: Table) -> tuple[str, ...]:
    args = table.strings("pytest-args", ())
    joined = " ".join(args).replace("-p no:", "-pno:").replace("-p ", "-p")
    for word in joined.split():
        if word.startswith("-pno:") and word.removeprefix("-pno:") in _NEEDED_PLUGINS:
            raise table.error(
                "pytest-args", f"{word.replace('-pno:', '-p no:')} switches off what each run needs"
            )
        option = word.split("=", maxsplit=1)[0]
        if option in _OWN_OPTIONS:
            raise table.error("pytest-args", f"{option} is set by the flake gate for each run")
    return args


def configure(table: Table, /) -> FlakeConfig:
    """Validate `[tool.gates.flake]` (the registry's entry point)."""
    return FlakeConfig.from_table(table)


@dataclass(frozen=True, kw_only=True)
class _Run:
    """One rerun of the suite: its seed, whether it completed, and each test's outcome."""

    index: int
    seed: int
    returncode: int
    outcomes: Mapping[str, str]  # node id -> "passed" | "failed" (skipped tests are absent)
    messages: Mapping[str, str]  # node id -> first failure line
    locations: Mapping[str, tuple[str, int]]
    quarantines: Mapping[str, Mapping[str, str]]
    collection_errors: tuple[str, ...]
    log: Path

    @property
    def completed(self) -> bool:
        """Pytest ran the suite to the end (every test passed or some failed)."""
        return self.returncode in (0, 1) and not self.collection_errors


@dataclass(kw_only=True)
class _Test:
    """One test across the completed runs."""

    nodeid: str
    outcomes: list[tuple[_Run, str]] = field(default_factory=list)

    @property
    def failures(self) -> list[_Run]:
        return [run for run, outcome in self.outcomes if outcome == "failed"]

    @property
    def flips(self) -> int:
        seq = [outcome for _, outcome in self.outcomes]
        return sum(a != b for a, b in itertools.pairwise(seq))

    @property
    def kind(self) -> str:
        failed = len(self.failures)
        if failed == 0:
            return "passed"
        return "broken" if failed == len(self.outcomes) else "flaky"

    def stats(self) -> str:
        runs, failed = len(self.outcomes), len(self.failures)
        seeds = ", ".join(str(run.seed) for run in self.failures)
        rate = f"fails {failed}/{runs} runs ({failed / runs:.0%}), {self.flips} flips"
        return f"{rate}; failing seeds {seeds}" if failed else rate


def _judge_quarantine(quarantine: Quarantine, test: _Test, today: dt.date) -> tuple[str, str]:
    """The finding kind and message of a quarantined test; only `quarantined` is not failing."""
    if quarantine.problem or quarantine.expires is None:
        return "quarantine-invalid", f"{quarantine.problem}; {test.stats()}"
    until = quarantine.expires.isoformat()
    if quarantine.expired(today):
        return "quarantine-expired", (
            f"quarantine by {quarantine.owner} expired on {until}: fix the test or renew the "
            f"quarantine; {test.stats()}"
        )
    verdict = {
        "flaky": "flaky",
        "broken": "fails every run",
        "passed": "passed every run, consider lifting the quarantine",
    }[test.kind]
    why = f" ({quarantine.reason})" if quarantine.reason else ""
    return "quarantined", (
        f"{verdict}; quarantined by {quarantine.owner} until {until}{why}; {test.stats()}"
    )


def run(*, config: FlakeConfig, project: Path, results: Path) -> GateResult:
    """Rerun `project`'s suite `config.runs` times and judge each test's stability.

    Raises:
        ToolError: pytest or one of its plugins is missing, or no run completed at all.
    """
    for module, package in (("pytest_randomly", "pytest-randomly"), ("pytest_reportlog", None)):
        if importlib.util.find_spec(module) is None:
            raise ToolError(tool=package or module.replace("_", "-"), message="not installed")
    out = results / GATE
    out.mkdir(parents=True, exist_ok=True)
    for stale in (*out.glob("run-*.jsonl"), *out.glob("run-*.log")):
        stale.unlink()
    workers = max(1, min(config.parallel, os.cpu_count() or 1, config.runs))
    with (
        tempfile.TemporaryDirectory(prefix="gates-flake-") as tmp,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        runs = list(
            pool.map(
                lambda pair: _run_once(
                    config, project, out, Path(tmp), index=pair[0] + 1, seed=pair[1]
                ),
                enumerate(config.seeds()),
            )
        )
    completed = [r for r in runs if r.completed]
    if not completed:
        first = runs[0]
        raise ToolError(
            tool="pytest",
            message=(
                f"no run completed; run 1 (seed {first.seed}) exited {first.returncode}"
                f"{_no_tests(first.returncode)}, see {first.log}"
            ),
        )
    return _decide(config, runs, completed, out, workers)


def _no_tests(returncode: int) -> str:
    return " (no tests collected)" if returncode == 5 else ""


def _run_once(
    config: FlakeConfig, project: Path, out: Path, tmp: Path, *, index: int, seed: int
) -> _Run:
    report = out / f"run-{index}.jsonl"
    args = [
        *python_module("pytest"),
        "-p",
        "randomly",
        f"--randomly-seed={seed}",
        "-p",
        "pytest_reportlog",
        "-p",
        "paved_gates",
        "-p",
        "no:cacheprovider",
        f"--report-log={report}",
        f"--basetemp={tmp / f'run-{index}'}",
        *config.pytest_args,
    ]
    done = run_tool(
        args,
        cwd=project,
        gate=GATE,
        label=f"pytest run {index}/{config.runs} (seed {seed})",
        env={"COVERAGE_FILE": str(tmp / f".coverage.run-{index}"), RUN_ENV: str(index)},
    )
    log = out / f"run-{index}.log"
    log.write_text(done.stdout + done.stderr, encoding="utf-8")
    return _parse_report(report, index=index, seed=seed, returncode=done.returncode, log=log)


def _parse_report(report: Path, *, index: int, seed: int, returncode: int, log: Path) -> _Run:
    outcomes: dict[str, str] = {}
    messages: dict[str, str] = {}
    locations: dict[str, tuple[str, int]] = {}
    quarantines: dict[str, Mapping[str, str]] = {}
    collection_errors: list[str] = []
    for entry in read_report_log(report):
        if entry.collection:
            if entry.failed:
                collection_errors.append(entry.nodeid or ".")
            continue
        nodeid = entry.nodeid
        locations[nodeid] = (entry.path, entry.line or 0)
        if entry.quarantine is not None:
            quarantines[nodeid] = entry.quarantine
        if entry.failed:
            if outcomes.get(nodeid) != "failed":
                messages[nodeid] = _first_line(entry)
            outcomes[nodeid] = "failed"
        elif entry.outcome == "passed" and entry.when == "call":
            outcomes.setdefault(nodeid, "passed")
    return _Run(
        index=index,
        seed=seed,
        returncode=returncode,
        outcomes=outcomes,
        messages=messages,
        locations=locations,
        quarantines=quarantines,
        collection_errors=tuple(collection_errors),
        log=log,
    )


def _first_line(entry: Report) -> str:
    first = entry.text[0] if entry.text else "failed"
    return f"error in {entry.when}: {first}" if entry.when in ("setup", "teardown") else first


def _tests(completed: Iterable[_Run]) -> dict[str, _Test]:
    tests: dict[str, _Test] = {}
    for run_ in completed:
        for nodeid, outcome in run_.outcomes.items():
            tests.setdefault(nodeid, _Test(nodeid=nodeid)).outcomes.append((run_, outcome))
    return dict(sorted(tests.items()))


def _decide(
    config: FlakeConfig,
    runs: Sequence[_Run],
    completed: Sequence[_Run],
    out: Path,
    workers: int,
) -> GateResult:
    today = utc_today()
    tests = _tests(completed)
    quarantines = {n: parse_quarantine(q) for r in runs for n, q in r.quarantines.items()}
    locations = {n: loc for r in runs for n, loc in r.locations.items()}
    findings: list[Finding] = []
    failing = False
    unquarantined_flaky: set[str] = set()
    active_quarantines = 0

    def finding(kind: str, nodeid: str, message: str) -> Finding:
        path, line = locations.get(nodeid, (nodeid.split("::", maxsplit=1)[0], 0))
        return Finding(id=f"{kind}:{nodeid}", message=message, path=path, line=line or None)

    for nodeid, test in tests.items():
        quarantine = quarantines.get(nodeid)
        kind = test.kind
        if quarantine is not None:
            verdict, message = _judge_quarantine(quarantine, test, today)
            findings.append(finding(verdict, nodeid, message))
            if verdict == "quarantined":
                active_quarantines += 1
                continue
            failing = True
        if kind == "flaky":
            failing = True
            unquarantined_flaky.add(nodeid)
            first = test.failures[0]
            findings.append(
                finding(
                    "flaky",
                    nodeid,
                    f"{test.stats()}; first failure (run {first.index}): "
                    f"{first.messages.get(nodeid, 'failed')}; reproduce with "
                    f"`pytest -p randomly --randomly-seed={first.seed}`",
                )
            )
        elif kind == "broken" and quarantine is None:
            first = test.failures[0]
            findings.append(
                finding(
                    "broken",
                    nodeid,
                    f"fails every run ({len(test.outcomes)}/{len(test.outcomes)}), not flaky: "
                    f"the tests gate reports it; {first.messages.get(nodeid, 'failed')}",
                )
            )

    findings += [_incomplete(run_) for run_ in runs if not run_.completed]
    findings.sort(key=lambda f: _ORDER.get(f.id.split(":", maxsplit=1)[0], len(_ORDER)))
    flaky_runs = [
        r
        for r in runs
        if not r.completed or any(r.outcomes.get(n) == "failed" for n in unquarantined_flaky)
    ]
    rate = len(flaky_runs) / len(runs)
    if rate > config.budget:
        failing = True
    flaky = sum(t.kind == "flaky" for t in tests.values())
    broken = sum(t.kind == "broken" for t in tests.values())
    _write_summary(out, config, runs, tests, quarantines)
    seeds = config.seeds()
    return GateResult(
        gate=GATE,
        status=Status.FAILED if failing else Status.PASSED,
        metrics={
            "runs": len(runs),
            "tests": len(tests),
            "flaky": flaky,
            "broken": broken,
            "quarantined": active_quarantines,
            "flaky_run_rate": round(rate, 4),
            "seed": config.seed,
        },
        thresholds={"flaky_run_rate": config.budget},
        findings=tuple(findings),
        summary=(
            f"{len(runs)} runs (seeds {seeds[0]}-{seeds[-1]}, {workers} at a time): "
            f"{len(tests)} tests, {flaky} flaky, {broken} broken, {active_quarantines} "
            f"quarantined; flaky-run rate {rate:.0%} (budget {config.budget:.0%})"
        ),
    )


def _incomplete(run_: _Run) -> Finding:
    """The finding of a run that did not complete while others did."""
    errors = run_.collection_errors
    return Finding(
        id=f"run-incomplete:{run_.index}",
        message=(
            f"run {run_.index} (seed {run_.seed}) did not complete while others did: "
            f"pytest exited {run_.returncode}{_no_tests(run_.returncode)}"
            + (f", collection errors in {', '.join(errors)}" if errors else "")
            + f"; see {run_.log.name}"
        ),
        path=str(run_.log),
    )


def _write_summary(
    out: Path,
    config: FlakeConfig,
    runs: Sequence[_Run],
    tests: Mapping[str, _Test],
    quarantines: Mapping[str, Quarantine],
) -> None:
    """`flake/summary.json`: every run and every test's figures, for tooling and dashboards."""
    data = {
        "seed": config.seed,
        "runs": [
            {
                "run": r.index,
                "seed": r.seed,
                "exit_code": r.returncode,
                "completed": r.completed,
                "report_log": f"run-{r.index}.jsonl",
            }
            for r in runs
        ],
        "tests": [
            {
                "nodeid": t.nodeid,
                "kind": t.kind,
                "runs": len(t.outcomes),
                "failures": len(t.failures),
                "fail_rate": round(len(t.failures) / len(t.outcomes), 4),
                "flips": t.flips,
                "failing_seeds": [r.seed for r in t.failures],
                "quarantined": t.nodeid in quarantines,
            }
            for t in tests.values()
        ],
    }
    (out / "summary.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
