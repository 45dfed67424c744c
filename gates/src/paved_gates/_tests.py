"""The tests gate: pytest in random order with branch coverage; JUnit and report log kept."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path

from ._config import Table
from ._errors import ConfigError, ToolError
from ._proc import ToolRun, python_module, run_tool
from ._quarantine import parse as parse_quarantine
from ._quarantine import utc_today
from ._report_log import Report
from ._report_log import read as read_report_log
from ._result import Finding, GateResult, Status

__all__ = [
    "COVERAGE_JSON",
    "JUNIT_XML",
    "REPORT_LOG",
    "TestsConfig",
    "configure",
    "pytest_command",
    "run",
]

GATE = "tests"
# not coverage.json: that is the coverage gate's result file
COVERAGE_JSON = "coverage-data.json"
COVERAGE_XML = "coverage.xml"
JUNIT_XML = "junit.xml"
REPORT_LOG = "report-log.jsonl"
PYTEST_LOG = "pytest.log"

_TESTS_FAILED = 1
_INTERNAL_ERROR = 3
_USAGE_ERROR = 4
_NO_TESTS = 5
_COUNTS = ("tests", "passed", "failed", "errors", "skipped", "quarantined")
_MESSAGE_LIMIT = 300


@dataclass(frozen=True, kw_only=True)
class TestsConfig:
    """`[tool.gates.tests]`: extra pytest arguments."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    pytest_args: tuple[str, ...] = ()


def configure(table: Table) -> TestsConfig:
    """Validate `[tool.gates.tests]`."""
    pytest_args = table.strings("pytest-args", ())
    _chosen_seed(pytest_args)  # a seed that is not a number is a configuration error
    joined = " ".join(pytest_args).replace("-p no:", "-pno:")
    for plugin in ("randomly", "cov", "reportlog", "junitxml"):
        if f"-pno:{plugin}" in joined.split():
            raise table.error(
                "pytest-args", f"-p no:{plugin} would switch off what the tests gate measures"
            )
    return TestsConfig(pytest_args=pytest_args)


def pytest_command(*, results: Path, pytest_args: tuple[str, ...], seed: int | None) -> list[str]:
    """The pytest command line of the tests gate (seed None: `pytest_args` choose it)."""
    args = [
        *python_module("pytest"),
        "--cov",
        "--cov-branch",
        f"--cov-report=json:{results / COVERAGE_JSON}",
        f"--cov-report=xml:{results / COVERAGE_XML}",
        "--cov-fail-under=0",
        f"--junitxml={results / JUNIT_XML}",
        f"--report-log={results / REPORT_LOG}",
    ]
    if seed is not None:
        args.append(f"--randomly-seed={seed}")
    return [*args, *pytest_args]


def run(*, config: TestsConfig, project: Path, results: Path) -> GateResult:
    """Run the suite once in random order; count outcomes; one finding per failed test."""
    for module in ("pytest_cov", "pytest_randomly", "pytest_reportlog"):
        python_module(module, package=module.replace("_", "-"))
    for name in (COVERAGE_JSON, COVERAGE_XML, JUNIT_XML, REPORT_LOG):
        (results / name).unlink(missing_ok=True)
    seed = _chosen_seed(config.pytest_args)
    ours = secrets.randbelow(2**32) if seed is None else None
    args = pytest_command(results=results, pytest_args=config.pytest_args, seed=ours)
    shown = f"seed {ours if ours is not None else seed}"
    # pytest's own progress, as it comes: a large suite is otherwise silent for minutes
    ran = run_tool(args, cwd=project, gate=GATE, label=f"pytest ({shown})", echo=True)
    (results / PYTEST_LOG).write_text(ran.stdout + ran.stderr, encoding="utf-8")
    log = results / REPORT_LOG
    if ran.returncode == _INTERNAL_ERROR or (ran.returncode != _USAGE_ERROR and not log.is_file()):
        raise ToolError(tool="pytest", message=f"exited {ran.returncode}: {ran.tail(15)}")
    counts, findings = _read_report_log(log) if log.is_file() else (dict.fromkeys(_COUNTS, 0), [])
    if ran.returncode == _USAGE_ERROR:
        # pytest's command line (pytest-args, addopts) or a conftest.py it cannot import
        findings.append(
            Finding(id="pytest-could-not-start", message=f"pytest exited 4: {ran.tail(8)}")
        )
    elif ran.returncode == _NO_TESTS:
        findings.append(Finding(id="no-tests", message="pytest collected no tests (exit code 5)"))
    elif ran.returncode != 0 and not findings and not _only_quarantined_failed(ran, counts):
        findings.append(
            Finding(id="pytest", message=f"pytest exited {ran.returncode}: {ran.tail(10)}")
        )
    seed_used = ours if ours is not None else seed
    metrics: dict[str, float] = {**counts, "duration": round(ran.duration_s, 3)}
    if seed_used is not None:
        metrics["seed"] = seed_used
    summary = (
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['errors']} errors, "
        f"{counts['skipped']} skipped, {counts['quarantined']} quarantined failed "
        f"in {ran.duration_s:.1f} s ({shown}); "
        f"output in {PYTEST_LOG}"
    )
    return GateResult(
        gate=GATE,
        status=Status.FAILED if findings else Status.PASSED,
        metrics=metrics,
        thresholds={"failed": 0, "errors": 0},
        findings=tuple(findings),
        summary=summary,
    )


def _chosen_seed(pytest_args: tuple[str, ...]) -> int | None:
    """The seed the configured arguments set, if any (then the gate does not choose one)."""
    for index, arg in enumerate(pytest_args):
        value: str | None = None
        if arg.startswith("--randomly-seed="):
            value = arg.partition("=")[2]
        elif arg == "--randomly-seed" and index + 1 < len(pytest_args):
            value = pytest_args[index + 1]
        if value is not None:
            if value.isdigit():
                return int(value)
            raise ConfigError(
                key="tool.gates.tests.pytest-args",
                message=f"--randomly-seed must be a number here, got {value!r}",
            )
    return None


def _read_report_log(path: Path) -> tuple[dict[str, int], list[Finding]]:
    """Count outcomes per test (as pytest's own summary does) and collect the failures."""
    counts = dict.fromkeys(_COUNTS, 0)
    findings: list[Finding] = []
    seen: set[str] = set()
    today = utc_today()
    for report in read_report_log(path):
        if report.collection:
            if report.failed:
                counts["errors"] += 1
                findings.append(_finding("collection-error", report))
            continue
        if report.nodeid not in seen:
            seen.add(report.nodeid)
            counts["tests"] += 1
        when, outcome = report.when, report.outcome
        if outcome == "failed" and when == "call" and _quarantined(report, today):
            counts["quarantined"] += 1  # known and owned; the flake gate judges the quarantine
        elif outcome == "failed" and when == "call":
            counts["failed"] += 1
            findings.append(_finding("failed", report))
        elif outcome == "failed":
            counts["errors"] += 1
            findings.append(_finding(f"error-in-{when}", report))
        elif outcome == "skipped" and when in ("setup", "call"):
            counts["skipped"] += 1
        elif outcome == "passed" and when == "call":
            counts["passed"] += 1
    return counts, findings


def _only_quarantined_failed(ran: ToolRun, counts: dict[str, int]) -> bool:
    """Pytest's exit 1 came only from tests under a current quarantine."""
    return ran.returncode == _TESTS_FAILED and counts["quarantined"] > 0


def _quarantined(report: Report, today: dt.date) -> bool:
    """Whether the test is under a well-formed quarantine that has not expired."""
    return report.quarantine is not None and parse_quarantine(report.quarantine).holds(today)


def _finding(kind: str, report: Report) -> Finding:
    lines = report.text
    message = lines[0] if lines else kind
    if report.collection and len(lines) > 1:
        message = lines[-1]  # the exception, after the traceback
    if len(message) > _MESSAGE_LIMIT:
        message = message[: _MESSAGE_LIMIT - 1] + "…"
    return Finding(
        id=kind,
        message=f"{report.nodeid or 'collection'}: {message}",
        path=report.path,
        line=report.crash_line,
    )
