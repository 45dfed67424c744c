"""The `flake` gate rerunning real pytest suites of tiny projects with pytest-randomly seeds."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from paved_gates import _flake

from tests._gates import run_gate

DETERMINISTIC = """
def test_adds():
    assert 1 + 1 == 2
"""

# Fails on every second invocation across runs: a shared resource (here a file) that the
# test does not own makes its outcome depend on what ran before it, as real flaky tests do.
SHARED_STATE = """
import fcntl
from pathlib import Path

import pytest

INVOCATIONS = Path(__file__).with_name("invocations.log")


{marker}
def test_sometimes():
    with INVOCATIONS.open("a+") as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        log.seek(0)
        earlier = len(log.read())
        log.write("x")
    assert earlier % 2 == 0, f"saw {{earlier}} earlier invocations"
"""

ALWAYS_FAILS = """
def test_divides():
    assert 1 // 1 == 2, "wrong on purpose"
"""

# Import fails on the second run only: that run cannot be judged test by test.
IMPORT_ONCE_BROKEN = """
import fcntl
from pathlib import Path

with Path(__file__).with_name("imports.log").open("a+") as log:
    fcntl.flock(log, fcntl.LOCK_EX)
    log.seek(0)
    earlier = len(log.read())
    log.write("x")
if earlier == 1:
    raise RuntimeError("a dependency was not ready")


def test_imports():
    pass
"""


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_flake.RUNS_ENV, raising=False)


def project(tmp_path: Path, config: str, **modules: str) -> Path:
    """A project whose `tests/test_<name>.py` files are `modules`, with `[tool.gates.flake]`."""
    root = tmp_path / "svc"
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [project]
            name = "svc"
            version = "1.0.0"

            [tool.pytest.ini_options]
            addopts = ["--strict-markers"]
            testpaths = ["tests"]

            [tool.gates.flake]
            """
        )
        + config
        + "\n",
        encoding="utf-8",
    )
    for name, source in modules.items():
        (root / "tests" / f"test_{name}.py").write_text(source, encoding="utf-8")
    return root


def findings(result: dict[str, Any]) -> dict[str, str]:
    return {f["id"]: f["message"] for f in result["findings"]}


def quarantine(**fields: str) -> str:
    args = ", ".join(f"{key}={value!r}" for key, value in fields.items())
    return f"@pytest.mark.quarantine({args})"


FLAKY_ID = "flaky:tests/test_shared.py::test_sometimes"


def test_nondeterministic_test_fails_the_gate_naming_it(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        "runs = 4",
        deterministic=DETERMINISTIC,
        shared=SHARED_STATE.format(marker=""),
    )

    code, result = run_gate("flake", root)

    assert code == 1
    assert result["status"] == "failed"
    assert list(findings(result)) == [FLAKY_ID]
    message = findings(result)[FLAKY_ID]
    assert message.startswith("fails 2/4 runs (50%), ")
    assert "saw 1 earlier invocations" in message
    seeds = re.search(r"failing seeds (\d+), (\d+)", message)
    assert seeds is not None
    assert {int(s) for s in seeds.groups()} < {1, 2, 3, 4}
    assert f"--randomly-seed={seeds.group(1)}" in message
    assert result["findings"][0]["path"] == "tests/test_shared.py"
    assert result["metrics"] == {
        "runs": 4,
        "tests": 2,
        "flaky": 1,
        "broken": 0,
        "quarantined": 0,
        "flaky_run_rate": 0.5,
        "seed": 1,
    }
    assert result["thresholds"] == {"flaky_run_rate": 0.0}
    summary = json.loads((root / "gate-results" / "flake" / "summary.json").read_text())
    sometimes = next(t for t in summary["tests"] if t["nodeid"].endswith("test_sometimes"))
    assert sometimes["kind"] == "flaky"
    assert sometimes["fail_rate"] == 0.5
    assert sometimes["flips"] >= 1


def test_quarantined_flaky_test_passes_and_is_still_reported(tmp_path: Path) -> None:
    marker = quarantine(owner="team-x", expires="2099-01-31", reason="shared fixture file")
    root = project(
        tmp_path,
        "runs = 4",
        deterministic=DETERMINISTIC,
        shared=SHARED_STATE.format(marker=marker),
    )

    code, result = run_gate("flake", root)

    assert code == 0
    assert list(findings(result)) == ["quarantined:tests/test_shared.py::test_sometimes"]
    assert findings(result)["quarantined:tests/test_shared.py::test_sometimes"].startswith(
        "flaky; quarantined by team-x until 2099-01-31 (shared fixture file); fails 2/4 runs"
    )
    assert result["metrics"]["flaky"] == 1
    assert result["metrics"]["quarantined"] == 1
    assert result["metrics"]["flaky_run_rate"] == 0


@pytest.mark.slow
def test_expired_quarantine_fails(tmp_path: Path) -> None:
    marker = quarantine(owner="team-x", expires="2024-01-31", reason="shared fixture file")
    root = project(tmp_path, "runs = 2", shared=SHARED_STATE.format(marker=marker))

    code, result = run_gate("flake", root)

    assert code == 1
    expired = findings(result)["quarantine-expired:tests/test_shared.py::test_sometimes"]
    assert expired.startswith("quarantine by team-x expired on 2024-01-31")
    assert FLAKY_ID in findings(result)
    assert result["metrics"]["quarantined"] == 0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"expires": "2099-01-31"}, 'quarantine needs owner="team"'),
        ({"owner": "team-x"}, "quarantine needs expires"),
        (
            {"owner": "team-x", "expires": "soon"},
            "quarantine needs expires=\"YYYY-MM-DD\" (got 'soon')",
        ),
    ],
)
def test_quarantine_without_owner_or_expiry_fails(
    tmp_path: Path, fields: dict[str, str], problem: str
) -> None:
    root = project(
        tmp_path,
        "runs = 2",
        deterministic=f"import pytest\n\n\n{quarantine(**fields)}\n{DETERMINISTIC}",
    )

    code, result = run_gate("flake", root)

    assert code == 1
    message = findings(result)["quarantine-invalid:tests/test_deterministic.py::test_adds"]
    assert message.startswith(problem)


@pytest.mark.slow
def test_deterministic_suite_passes_with_reproducible_seeded_orders(tmp_path: Path) -> None:
    many = "\n".join(f"def test_{n}():\n    assert {n} == {n}\n\n" for n in range(8))
    root = project(tmp_path, "runs = 3\nseed = 40", many=many)
    reports = root / "gate-results" / "flake"

    def orders() -> list[list[str]]:
        return [
            [
                entry["nodeid"]
                for entry in map(json.loads, (reports / f"run-{k}.jsonl").read_text().splitlines())
                if entry.get("when") == "call"
            ]
            for k in (1, 2, 3)
        ]

    code, result = run_gate("flake", root)
    first = orders()
    again, _ = run_gate("flake", root)

    assert (code, again) == (0, 0)
    assert result["findings"] == []
    assert result["metrics"]["tests"] == 8
    assert result["metrics"]["flaky_run_rate"] == 0
    assert result["metrics"]["seed"] == 40
    assert "3 runs (seeds 40-42, " in (root / "gate-results" / "flake.md").read_text()
    for k, seed in enumerate((40, 41, 42), start=1):
        assert f"--randomly-seed={seed}" in (reports / f"run-{k}.log").read_text()
    assert len({tuple(order) for order in first}) > 1, "different seeds, different orders"
    assert orders() == first, "the same seeds replay the same orders"


@pytest.mark.slow
def test_always_failing_test_is_reported_as_broken_not_flaky(tmp_path: Path) -> None:
    root = project(tmp_path, "runs = 2", deterministic=DETERMINISTIC, divides=ALWAYS_FAILS)

    code, result = run_gate("flake", root)

    assert code == 0
    broken = findings(result)["broken:tests/test_divides.py::test_divides"]
    assert broken.startswith("fails every run (2/2), not flaky")
    assert "wrong on purpose" in broken
    assert result["metrics"]["broken"] == 1
    assert result["metrics"]["flaky"] == 0


@pytest.mark.slow
@pytest.mark.parametrize(("budget", "code"), [("0.0", 1), ("0.25", 0)])
def test_run_that_does_not_complete_counts_against_the_budget(
    tmp_path: Path, budget: str, code: int
) -> None:
    root = project(
        tmp_path,
        f"runs = 4\nbudget = {budget}",
        deterministic=DETERMINISTIC,
        imports=IMPORT_ONCE_BROKEN,
    )

    exit_code, result = run_gate("flake", root)

    assert exit_code == code
    assert result["metrics"]["flaky_run_rate"] == 0.25
    [incomplete] = [m for i, m in findings(result).items() if i.startswith("run-incomplete:")]
    assert "collection errors in tests/test_imports.py" in incomplete


@pytest.mark.slow
def test_environment_overrides_the_number_of_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path, "runs = 2\nparallel = 4", deterministic=DETERMINISTIC)
    monkeypatch.setenv(_flake.RUNS_ENV, "3")

    code, result = run_gate("flake", root)

    assert code == 0
    assert result["metrics"]["runs"] == 3
    assert sorted(p.name for p in (root / "gate-results" / "flake").glob("run-*.jsonl")) == [
        "run-1.jsonl",
        "run-2.jsonl",
        "run-3.jsonl",
    ]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("runs = 1", r"tool\.gates\.flake\.runs: must be at least 2"),
        ("budget = 1.5", r"tool\.gates\.flake\.budget: must be at most 1"),
        ("parallel = 0", r"tool\.gates\.flake\.parallel: must be at least 1"),
        ('pytest-args = "-x"', r"tool\.gates\.flake\.pytest-args: must be a list"),
        ("reruns = 3", r"tool\.gates\.flake\.reruns: unknown key"),
        (
            'pytest-args = ["-p", "no:randomly"]',
            r"tool\.gates\.flake\.pytest-args: -p no:randomly switches off what each run needs",
        ),
        (
            'pytest-args = ["--randomly-seed=3"]',
            r"tool\.gates\.flake\.pytest-args: --randomly-seed is set by the flake gate",
        ),
        ('pytest-args = ["--report-log", "x.jsonl"]', r"--report-log is set by the flake gate"),
    ],
)
def test_bad_configuration_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], config: str, message: str
) -> None:
    root = project(tmp_path, config, deterministic=DETERMINISTIC)

    code, _ = run_gate("flake", root)

    assert code == 2
    assert re.search(message, capsys.readouterr().err)


def test_bad_runs_override_exits_2_naming_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path, "", deterministic=DETERMINISTIC)
    monkeypatch.setenv(_flake.RUNS_ENV, "many")

    code, _ = run_gate("flake", root)

    assert code == 2
    assert "GATES_FLAKE_RUNS: must be an integer of at least 2, got 'many'" in (
        capsys.readouterr().err
    )


@pytest.mark.slow
def test_suite_that_never_completes_is_an_error(tmp_path: Path) -> None:
    root = project(
        tmp_path, 'runs = 2\npytest-args = ["--no-such-option"]', deterministic=DETERMINISTIC
    )

    code, result = run_gate("flake", root)

    assert code == 3
    assert result["status"] == "error"
    assert "no run completed; run 1 (seed 1) exited 4" in result["findings"][0]["message"]
