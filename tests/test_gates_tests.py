"""The tests gate against real pytest, pytest-randomly, pytest-cov and pytest-reportlog."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from paved_gates import _tests
from paved_gates._cli import main

from tests._gates import run_gate

PACKAGE = '''
    """A tiny package."""


    def add(a: int, b: int) -> int:
        if a < 0:
            raise ValueError("negative")
        return a + b
'''

PASSING = {
    "src/pkg/__init__.py": PACKAGE,
    "tests/test_add.py": """
        import pytest

        from pkg import add


        def test_add() -> None:
            assert add(1, 2) == 3


        @pytest.mark.parametrize("a", [1, 2, 3])
        def test_add_zero(a: int) -> None:
            assert add(a, 0) == a


        @pytest.mark.skip(reason="not today")
        def test_skipped() -> None:
            raise AssertionError
    """,
}

FAILING = {
    **PASSING,
    "tests/test_broken.py": """
        import pytest

        from pkg import add


        @pytest.fixture
        def broken() -> int:
            raise RuntimeError("fixture exploded")


        def test_wrong_sum() -> None:
            assert add(1, 1) == 3


        def test_uses_broken(broken: int) -> None:
            assert broken
    """,
}

Outcome = tuple[int, dict[str, Any], Path]


def run_tests_gate(root: Path) -> Outcome:
    code, result = run_gate("tests", root)
    return code, result, root / "gate-results"


@pytest.fixture(scope="module")
def passing(
    tmp_path_factory: pytest.TempPathFactory, gates_project: Callable[..., Path]
) -> Outcome:
    root = gates_project(tmp_path_factory.mktemp("passing"), PASSING)
    return run_tests_gate(root)


@pytest.fixture(scope="module")
def failing(
    tmp_path_factory: pytest.TempPathFactory, gates_project: Callable[..., Path]
) -> Outcome:
    gates = '[tool.gates.tests]\npytest-args = ["--randomly-seed=4242"]\n'
    root = gates_project(tmp_path_factory.mktemp("failing"), FAILING, gates=gates)
    return run_tests_gate(root)


def test_a_green_suite_passes_with_its_counts(passing: Outcome) -> None:
    code, result, _ = passing

    assert code == 0
    assert result["status"] == "passed"
    metrics = result["metrics"]
    assert (metrics["tests"], metrics["passed"], metrics["failed"]) == (5, 4, 0)
    assert (metrics["errors"], metrics["skipped"]) == (0, 1)
    assert metrics["duration"] > 0
    assert result["findings"] == []


def test_the_suite_runs_in_random_order_with_the_seed_recorded(passing: Outcome) -> None:
    _, result, results = passing

    seed = result["metrics"]["seed"]
    assert isinstance(seed, int)
    assert f"Using --randomly-seed={seed}" in (results / "pytest.log").read_text()


def test_artifacts_are_kept(passing: Outcome) -> None:
    _, _, results = passing

    suite = ET.parse(results / "junit.xml").getroot().find("testsuite")  # noqa: S314 - ours
    assert suite is not None
    assert suite.get("tests") == "5"
    log = [json.loads(line) for line in (results / "report-log.jsonl").read_text().splitlines()]
    assert log[-1]["$report_type"] == "SessionFinish"
    coverage = json.loads((results / "coverage-data.json").read_text())
    assert coverage["meta"]["branch_coverage"] is True
    assert "src/pkg/__init__.py" in coverage["files"]
    assert (results / "coverage.xml").is_file()


def test_failing_and_erroring_tests_fail_the_gate_as_findings(failing: Outcome) -> None:
    code, result, _ = failing

    assert code == 1
    assert result["status"] == "failed"
    metrics = result["metrics"]
    assert (metrics["failed"], metrics["errors"], metrics["passed"]) == (1, 1, 4)
    found = {f["id"]: f for f in result["findings"]}
    assert set(found) == {"failed", "error-in-setup"}
    assert found["failed"]["message"] == "tests/test_broken.py::test_wrong_sum: assert 2 == 3"
    assert found["failed"]["path"] == "tests/test_broken.py"
    assert found["failed"]["line"] == 12
    assert found["error-in-setup"]["message"].startswith(
        "tests/test_broken.py::test_uses_broken: RuntimeError: fixture exploded"
    )


def test_pytest_args_are_passed_through_and_their_seed_recorded(failing: Outcome) -> None:
    _, result, results = failing

    assert result["metrics"]["seed"] == 4242
    assert "Using --randomly-seed=4242" in (results / "pytest.log").read_text()


def test_pytest_progress_shows_on_stderr_while_stdout_keeps_only_the_result(
    tmp_path: Path, gates_project: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = gates_project(tmp_path, PASSING)

    code = main(["tests", "--project", str(root), "--format", "json"])

    assert code == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["metrics"]["passed"] == 4
    progress = re.search(r"^tests/test_add\.py [.s]{5} +\[100%\]$", captured.err, re.MULTILINE)
    assert progress, captured.err
    assert progress.start() < captured.err.index("tests....."), "shown before the verdict"
    assert "[100%]" in (root / "gate-results" / "pytest.log").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("files", "finding", "message"),
    [
        (
            {"src/pkg/__init__.py": PACKAGE, "tests/test_nothing.py": "X = 1\n"},
            "no-tests",
            "pytest collected no tests (exit code 5)",
        ),
        (
            {"src/pkg/__init__.py": PACKAGE, "tests/test_import.py": "import nowhere\n"},
            "collection-error",
            "tests/test_import.py: E   ModuleNotFoundError: No module named 'nowhere'",
        ),
    ],
    ids=["no-tests", "collection-error"],
)
def test_a_suite_that_does_not_run_fails(
    tmp_path: Path,
    gates_project: Callable[..., Path],
    files: dict[str, str],
    finding: str,
    message: str,
) -> None:
    code, result, _ = run_tests_gate(gates_project(tmp_path, files))

    assert code == 1
    assert [(f["id"], f["message"]) for f in result["findings"]] == [(finding, message)]


def quarantined_suite(expires: str) -> dict[str, str]:
    return {
        **PASSING,
        "tests/test_known_flaky.py": f"""
            import pytest


            @pytest.mark.quarantine(owner="team-a", expires="{expires}", reason="races the clock")
            def test_known_flaky() -> None:
                raise AssertionError("lost the race")
        """,
    }


def test_a_failure_under_a_current_quarantine_does_not_fail_the_gate(
    tmp_path: Path, gates_project: Callable[..., Path]
) -> None:
    root = gates_project(tmp_path, quarantined_suite("2999-12-31"))

    code, result, _ = run_tests_gate(root)

    assert code == 0, result["findings"]
    assert result["metrics"]["quarantined"] == 1
    assert result["metrics"]["failed"] == 0


@pytest.mark.parametrize("expires", ["2001-01-01", "someday"])
def test_an_expired_or_malformed_quarantine_fails_like_any_test(
    tmp_path: Path, gates_project: Callable[..., Path], expires: str
) -> None:
    root = gates_project(tmp_path, quarantined_suite(expires))

    code, result, _ = run_tests_gate(root)

    assert code == 1
    assert [f["id"] for f in result["findings"]] == ["failed"]
    assert "test_known_flaky" in result["findings"][0]["message"]


@pytest.fixture(params=["Etc/GMT-14", "Etc/GMT+12"])
def far_time_zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A local time zone 14 hours ahead of UTC or 12 behind: one of them is on another date."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def test_quarantine_expiry_is_judged_by_the_utc_date(tmp_path: Path, far_time_zone: str) -> None:
    utc = dt.datetime.now(dt.UTC).date()
    log = tmp_path / "report-log.jsonl"
    lines = []
    for name, expires in (("today", utc), ("yesterday", utc - dt.timedelta(days=1))):
        marker = json.dumps({"owner": "team-a", "expires": expires.isoformat()})
        lines.append(
            json.dumps(
                {
                    "$report_type": "TestReport",
                    "nodeid": f"tests/test_q.py::test_{name}",
                    "location": ["tests/test_q.py", 1, f"test_{name}"],
                    "when": "call",
                    "outcome": "failed",
                    "longrepr": "AssertionError",
                    "user_properties": [["paved.quarantine", marker]],
                }
            )
        )
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")

    counts, findings = _tests._read_report_log(log)

    assert counts["quarantined"] == 1, (
        f"a quarantine holds through its expiry day ({far_time_zone})"
    )
    assert [f.message for f in findings] == ["tests/test_q.py::test_yesterday: AssertionError"]
