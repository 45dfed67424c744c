"""The `gates` command line: configuration errors, exit codes, result files, `gates all`."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from paved_gates import _registry
from paved_gates._cli import main
from paved_gates._registry import Gate

# A gate module the tests register under several names; `[tool.gates.<name>] outcome`
# decides what its run does.
_FAKE_GATE = """
from paved_gates._errors import ConfigError, ToolError
from paved_gates._result import Finding, GateResult, Skip, Status


def configure(table):
    return table.name.rsplit(".", 1)[1], table.string("outcome", "passed")


def run(*, config, project, results):
    name, outcome = config
    (results / f"{name}.ran").write_text("", encoding="utf-8")
    if outcome == "crash":
        raise RuntimeError("the gate fell over")
    if outcome == "tool":
        raise ToolError(tool="thing", message="cannot start")
    if outcome == "config":
        raise ConfigError(message="run another gate first")
    findings, skipped = (), ()
    if outcome == "failed":
        findings = (Finding(id="bad", message="it is bad", path="x.py", line=3),)
    if outcome == "skipped":
        skipped = (Skip(check="everything", reason="nothing to look at"),)
    return GateResult(
        gate=name, status=Status(outcome), metrics={"n": 1.5}, findings=findings, skipped=skipped
    )
"""


@pytest.fixture
def fake_gates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Register gates `one`, `two` and `three`, all driven by `_FAKE_GATE`."""
    modules = tmp_path / "fake_modules"
    modules.mkdir()
    (modules / "paved_fake_gate.py").write_text(_FAKE_GATE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(modules))
    for name in ("one", "two", "three"):
        gate = Gate(name=name, module="paved_fake_gate", summary=f"fake {name}")
        monkeypatch.setitem(_registry.GATES, name, gate)


def project_with(tmp_path: Path, gates: str) -> Path:
    root = tmp_path / "project"
    root.mkdir(exist_ok=True)
    (root / "pyproject.toml").write_text(f'[project]\nname = "p"\n\n{gates}\n', encoding="utf-8")
    return root


def run_gates(root: Path, *args: str) -> int:
    return main([*args, "--project", str(root)])


@pytest.mark.parametrize(
    ("command", "gates", "message"),
    [
        (
            "all",
            '[tool.gates]\nenabled = ["lint", "nope"]',
            "tool.gates.enabled: unknown gate 'nope'",
        ),
        ("all", '[tool.gates]\nenabled = "lint"', "tool.gates.enabled: must be a list"),
        (
            "all",
            '[tool.gates]\nenabled = ["lint", "lint"]',
            "tool.gates.enabled: lists a gate twice",
        ),
        ("list", "[tool.gates]\nenable = []", "tool.gates.enable: unknown key"),
        ("lint", '[tool.gates.lint]\npaths = "src"', "tool.gates.lint.paths: must be a list"),
        ("lint", '[tool.gates.lint]\npathz = ["src"]', "tool.gates.lint.pathz: unknown key"),
        (
            "lint",
            "[tool.gates.lint]\nworkflows = 3",
            "tool.gates.lint.workflows: must be a non-empty",
        ),
        ("tests", '[tool.gates.tests]\npytest-args = ["-x", 1]', "tool.gates.tests.pytest-args"),
        (
            "tests",
            '[tool.gates.tests]\npytest-args = ["--randomly-seed=last"]',
            "tool.gates.tests.pytest-args: --randomly-seed must be a number",
        ),
        (
            "tests",
            '[tool.gates.tests]\npytest-args = ["-p", "no:randomly"]',
            "tool.gates.tests.pytest-args: -p no:randomly would switch off",
        ),
        (
            "coverage",
            "[tool.gates.coverage]\ntotal = 120",
            "tool.gates.coverage.total: must be at most 100",
        ),
        (
            "coverage",
            '[tool.gates.coverage]\ntotal = "85"',
            "tool.gates.coverage.total: must be a number",
        ),
        (
            "coverage",
            "[tool.gates.coverage]\npatch = true",
            "tool.gates.coverage.patch: must be a number",
        ),
        (
            "coverage",
            "[tool.gates.coverage]\nbase = ''",
            "tool.gates.coverage.base: must be a non-empty",
        ),
        (
            "coverage",
            "[tool.gates.coverage.critical]\nauth = { globs = [], threshold = 90 }",
            "tool.gates.coverage.critical.auth.globs: is required",
        ),
        (
            "coverage",
            '[tool.gates.coverage.critical]\nauth = { globs = ["src/*"], threshold = -1 }',
            "tool.gates.coverage.critical.auth.threshold: must be at least 0",
        ),
        (
            "coverage",
            '[tool.gates.coverage.critical]\nauth = { globs = ["src/*"], owner = "me" }',
            "tool.gates.coverage.critical.auth.owner: unknown key",
        ),
        (
            "coverage",
            '[tool.gates.coverage]\ncritical = ["src/*"]',
            "tool.gates.coverage.critical: must be a table",
        ),
        ("all", "[tool]\ngates = 1", "tool.gates: must be a table"),
    ],
)
def test_configuration_errors_exit_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, gates: str, message: str
) -> None:
    root = project_with(tmp_path, gates)

    assert run_gates(root, command) == 2

    assert message in capsys.readouterr().err
    assert not (root / "gate-results").exists(), "nothing runs when the configuration is wrong"


@pytest.mark.parametrize(
    ("pyproject", "message"),
    [(None, "no pyproject.toml in"), ("[tool.gates\n", "is not valid TOML")],
)
def test_a_missing_or_broken_pyproject_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pyproject: str | None, message: str
) -> None:
    if pyproject is not None:
        (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")

    assert run_gates(tmp_path, "lint") == 2

    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [[], ["nope"], ["lint", "--format", "xml"], ["lint", "--bogus"]],
    ids=["no-command", "unknown-gate", "bad-format", "unknown-option"],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "gates: usage error:" in capsys.readouterr().err


def test_version_is_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"gates {version('paved-gates')}"


def test_the_console_script_and_python_m_run_the_same_cli(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "gates"
    for argv in ([str(script)], [sys.executable, "-m", "paved_gates"]):
        ran = subprocess.run(
            [*argv, "list", "--format", "json"],
            cwd=project_with(tmp_path, '[tool.gates]\nenabled = ["tests"]'),
            capture_output=True,
            text=True,
            check=False,
        )
        assert ran.returncode == 0, ran.stderr
        rows = {row["gate"]: row["enabled"] for row in json.loads(ran.stdout)}
        assert rows["tests"] is True
        assert rows["lint"] is False


def test_list_shows_every_gate_and_the_enabled_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project_with(tmp_path, '[tool.gates]\nenabled = ["coverage", "lint"]')

    assert run_gates(root, "list") == 0

    lines = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()}
    assert lines["lint"] == "enabled"
    assert lines["coverage"] == "enabled"
    assert lines["tests"] == "-"
    assert set(lines) >= {"lint", "tests", "coverage"}


def test_without_a_gates_table_lint_tests_and_coverage_are_enabled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_gates(project_with(tmp_path, ""), "list", "--format", "json") == 0

    enabled = [row["gate"] for row in json.loads(capsys.readouterr().out) if row["enabled"]]
    assert enabled == ["lint", "tests", "coverage"]


@pytest.mark.usefixtures("fake_gates")
@pytest.mark.parametrize(
    ("outcome", "code", "status", "finding"),
    [
        ("passed", 0, "passed", None),
        ("skipped", 0, "skipped", None),
        ("failed", 1, "failed", "bad"),
        ("config", 2, "error", "config-error"),
        ("tool", 3, "error", "internal-error"),
        ("crash", 3, "error", "internal-error"),
    ],
)
def test_exit_codes_and_result_files_of_one_gate(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    *,
    outcome: str,
    code: int,
    status: str,
    finding: str | None,
) -> None:
    root = project_with(tmp_path, f'[tool.gates.one]\noutcome = "{outcome}"')

    assert run_gates(root, "one") == code

    result = json.loads((root / "gate-results" / "one.json").read_text(encoding="utf-8"))
    assert result["status"] == status
    assert [f["id"] for f in result["findings"]] == ([finding] if finding else [])
    label = {"passed": "Passed", "skipped": "Skipped", "failed": "Failed", "error": "Error"}[status]
    err = capsys.readouterr().err
    assert any(line.startswith("one.") and line.endswith(label) for line in err.splitlines())
    assert "Traceback" not in err


@pytest.mark.usefixtures("fake_gates")
def test_an_internal_error_is_one_short_line_unless_debugging(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project_with(tmp_path, '[tool.gates.one]\noutcome = "crash"')

    assert run_gates(root, "one") == 3
    assert "RuntimeError: the gate fell over" in capsys.readouterr().err

    monkeypatch.setenv("GATES_DEBUG", "1")
    assert run_gates(root, "one") == 3
    assert "Traceback" in capsys.readouterr().err


def test_a_gate_whose_module_is_missing_is_an_internal_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(name="one", module="paved_gates._no_such_gate", summary="missing")
    monkeypatch.setitem(_registry.GATES, "one", gate)

    assert run_gates(project_with(tmp_path, ""), "one") == 3

    assert "one: gate is not installed" in capsys.readouterr().err


def test_a_gate_that_cannot_be_imported_does_not_stop_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    modules = tmp_path / "broken_modules"
    modules.mkdir()
    (modules / "paved_broken_gate.py").write_text("def run(:\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(modules))
    monkeypatch.setitem(
        _registry.GATES, "one", Gate(name="one", module="paved_broken_gate", summary="x")
    )
    root = project_with(tmp_path, '[tool.gates]\nenabled = ["one", "coverage"]')

    assert run_gates(root, "all") == 3

    assert "one: cannot be imported: SyntaxError" in capsys.readouterr().err
    statuses = [r["status"] for r in json.loads((root / "gate-results" / "all.json").read_text())]
    assert statuses == ["error", "error"], "coverage ran too (and found no coverage data)"


@pytest.mark.usefixtures("fake_gates")
def test_result_file_schema(tmp_path: Path) -> None:
    root = project_with(tmp_path, '[tool.gates.one]\noutcome = "failed"')

    run_gates(root, "one")

    result = json.loads((root / "gate-results" / "one.json").read_text(encoding="utf-8"))
    assert set(result) == {
        "gate", "status", "metrics", "thresholds", "findings", "skipped", "duration_s",
        "gates_version",
    }  # fmt: skip
    assert result["gate"] == "one"
    assert result["gates_version"] == version("paved-gates")
    assert isinstance(result["duration_s"], float)
    assert result["duration_s"] >= 0
    for values in (result["metrics"], result["thresholds"]):
        assert all(type(v) in (int, float) for v in values.values())
    assert result["metrics"] == {"n": 1.5}
    assert result["findings"] == [{"id": "bad", "message": "it is bad", "path": "x.py", "line": 3}]
    markdown = (root / "gate-results" / "one.md").read_text(encoding="utf-8")
    assert "gate `one`: failed" in markdown
    assert "`x.py:3`" in markdown


@pytest.mark.usefixtures("fake_gates")
def test_format_json_prints_the_result_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project_with(tmp_path, "")

    assert run_gates(root, "one", "--format", "json") == 0

    out = capsys.readouterr().out
    assert json.loads(out) == json.loads((root / "gate-results" / "one.json").read_text())


@pytest.mark.usefixtures("fake_gates")
def test_format_json_of_all_prints_the_list_of_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project_with(tmp_path, '[tool.gates]\nenabled = ["one", "two"]')

    assert run_gates(root, "all", "--format", "json") == 0

    printed = json.loads(capsys.readouterr().out)
    assert [r["gate"] for r in printed] == ["one", "two"]
    assert printed == json.loads((root / "gate-results" / "all.json").read_text())


@pytest.mark.usefixtures("fake_gates")
def test_results_go_where_results_says(tmp_path: Path) -> None:
    root = project_with(tmp_path, "")

    assert run_gates(root, "one", "--results", str(tmp_path / "elsewhere")) == 0

    assert (tmp_path / "elsewhere" / "one.json").is_file()
    assert not (root / "gate-results").exists()


@pytest.mark.usefixtures("fake_gates")
def test_markdown_is_appended_to_the_github_step_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    root = project_with(tmp_path, '[tool.gates.two]\noutcome = "failed"')

    run_gates(root, "one")
    run_gates(root, "two")

    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n")
    assert text.index("gate `one`: passed") < text.index("gate `two`: failed")
    assert "**bad** (`x.py:3`): it is bad" in text


@pytest.mark.usefixtures("fake_gates")
@pytest.mark.parametrize(
    ("outcomes", "code"),
    [
        (("passed", "passed", "passed"), 0),
        (("skipped", "passed", "skipped"), 0),
        (("failed", "passed", "passed"), 1),
        (("failed", "config", "passed"), 2),
        (("crash", "failed", "config"), 3),
    ],
)
def test_all_runs_every_enabled_gate_and_the_worst_exit_code_wins(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    outcomes: tuple[str, str, str],
    code: int,
) -> None:
    tables = "\n".join(
        f'[tool.gates.{name}]\noutcome = "{outcome}"'
        for name, outcome in zip(("one", "two", "three"), outcomes, strict=True)
    )
    root = project_with(tmp_path, f'[tool.gates]\nenabled = ["two", "one", "three"]\n{tables}')

    assert run_gates(root, "all") == code

    results = root / "gate-results"
    assert all((results / f"{name}.ran").exists() for name in ("one", "two", "three"))
    listed = json.loads((results / "all.json").read_text(encoding="utf-8"))
    assert [r["gate"] for r in listed] == ["two", "one", "three"]
    assert "| one |" in (results / "all.md").read_text(encoding="utf-8")
    table = capsys.readouterr().err.split("gate ", 1)[1]
    assert all(name in table for name in ("one", "two", "three"))


@pytest.mark.usefixtures("fake_gates")
def test_a_skipped_gate_is_shown_as_skipped_everywhere_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tables = '[tool.gates.two]\noutcome = "skipped"'
    root = project_with(tmp_path, f'[tool.gates]\nenabled = ["one", "two"]\n{tables}')

    assert run_gates(root, "all") == 0

    results = root / "gate-results"
    two = json.loads((results / "two.json").read_text(encoding="utf-8"))
    assert two["status"] == "skipped"
    assert two["skipped"] == [{"check": "everything", "reason": "nothing to look at"}]
    err = capsys.readouterr().err
    assert "- skipped everything: nothing to look at" in err
    rows = [line.split() for line in err[err.index("\ngate ") :].strip().splitlines()]
    assert rows[0] == ["gate", "status", "findings", "time", "skipped"]
    assert rows[1][:2] == ["one", "passed"]
    assert (rows[2][:3], rows[2][-1]) == (["two", "skipped", "0"], "everything")
    assert "| two | skipped | 0 |" in (results / "all.md").read_text(encoding="utf-8")


@pytest.mark.usefixtures("fake_gates")
def test_all_skips_gates_that_are_not_enabled(tmp_path: Path) -> None:
    root = project_with(tmp_path, '[tool.gates]\nenabled = ["two"]')

    assert run_gates(root, "all") == 0

    assert (root / "gate-results" / "two.ran").exists()
    assert not (root / "gate-results" / "one.ran").exists()


@pytest.mark.usefixtures("fake_gates")
def test_a_gate_that_is_not_enabled_still_runs_when_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project_with(tmp_path, "[tool.gates]\nenabled = []")

    assert run_gates(root, "one") == 0

    assert "not in tool.gates.enabled" in capsys.readouterr().err


@pytest.mark.usefixtures("fake_gates")
def test_status_lines_are_coloured_only_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    root = project_with(tmp_path, '[tool.gates.two]\noutcome = "failed"')
    controller, terminal = pty.openpty()
    with open(terminal, "w", encoding="utf-8") as stream:  # noqa: PTH123 - a descriptor
        monkeypatch.setattr("sys.stderr", stream)
        run_gates(root, "one")
        run_gates(root, "two")
        stream.flush()
        chunks = []
        while select.select([controller], [], [], 0.2)[0]:
            chunks.append(os.read(controller, 65536))
    os.close(controller)
    shown = b"".join(chunks).decode()

    assert "\033[32mPassed\033[0m" in shown
    assert "\033[31mFailed\033[0m" in shown
