"""The coverage gate: total, critical groups and patch coverage, on real and made-up data."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from paved_gates._cli import main
from paved_gates._coverage import line_ranges

from tests._gates import gate_markdown, run_gate

AUTH_ONLY = """
[tool.gates.coverage]
total = 50

[tool.gates.coverage.critical]
auth = { globs = ["src/pkg/core/auth/*"], threshold = 90 }
"""


def measured(
    executed: Iterable[int],
    missing: Iterable[int] = (),
    *,
    branches: int = 0,
    missing_branches: Iterable[tuple[int, int]] = (),
) -> dict[str, Any]:
    """One file of coverage.py's JSON report."""
    executed, missing, partial = sorted(executed), sorted(missing), list(missing_branches)
    return {
        "executed_lines": executed,
        "missing_lines": missing,
        "missing_branches": [list(branch) for branch in partial],
        "summary": {
            "covered_lines": len(executed),
            "num_statements": len(executed) + len(missing),
            "num_branches": branches,
            "covered_branches": branches - len(partial),
        },
    }


def write_coverage(root: Path, files: dict[str, dict[str, Any]]) -> None:
    """coverage.py's JSON report and the same data as Cobertura XML, as the tests gate writes."""
    keys = ("covered_lines", "num_statements", "num_branches", "covered_branches")
    totals = {key: sum(f["summary"][key] for f in files.values()) for key in keys}
    data = {"meta": {"branch_coverage": True}, "files": files, "totals": totals}
    (root / "gate-results").mkdir(parents=True, exist_ok=True)
    (root / "gate-results" / "coverage-data.json").write_text(json.dumps(data), encoding="utf-8")
    classes = "".join(
        f'<class name="{name}" filename="{name}"><lines>'
        + "".join(
            f'<line number="{n}" hits="{int(n in f["executed_lines"])}"/>'
            for n in sorted([*f["executed_lines"], *f["missing_lines"]])
        )
        + "</lines></class>"
        for name, f in files.items()
    )
    xml = (
        f'<?xml version="1.0" ?><coverage version="7"><sources><source>{root}</source></sources>'
        f'<packages><package name="p"><classes>{classes}</classes></package></packages></coverage>'
    )
    (root / "gate-results" / "coverage.xml").write_text(xml, encoding="utf-8")


def project(tmp_path: Path, gates: str, files: dict[str, dict[str, Any]]) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text(f'[project]\nname = "p"\n\n{gates}\n', encoding="utf-8")
    write_coverage(root, files)
    return root


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def test_passes_when_every_threshold_is_met(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        AUTH_ONLY,
        {
            "src/pkg/core/auth/tokens.py": measured(range(1, 11), branches=2),
            "src/pkg/items/service.py": measured(range(1, 6), range(6, 11)),
        },
    )

    code, result = run_gate("coverage", root)

    assert code == 0, result["findings"]
    assert result["status"] == "passed"
    assert result["metrics"] == {"total": 77.27, "critical.auth": 100.0}
    assert result["thresholds"] == {"total": 50, "critical.auth": 90}
    assert result["skipped"] == [{"check": "patch", "reason": "not a git repository"}]


def test_a_critical_group_below_its_threshold_names_group_figure_and_lines(
    tmp_path: Path,
) -> None:
    tokens = measured(
        [*range(1, 12), 15, 16, 17, 18, 19],
        [12, 13, 14, 20],
        branches=4,
        missing_branches=[(15, 17)],
    )
    root = project(
        tmp_path,
        AUTH_ONLY,
        {
            "src/pkg/core/auth/tokens.py": tokens,
            "src/pkg/core/auth/keys.py": measured(range(1, 5)),
            "src/pkg/items/service.py": measured(range(1, 50)),
        },
    )

    code, result = run_gate("coverage", root)

    assert code == 1
    assert result["status"] == "failed"
    assert result["metrics"]["critical.auth"] == 82.14
    assert result["findings"] == [
        {
            "id": "critical:auth",
            "message": "critical group `auth` covered 82.14%, below its threshold 90%: "
            "src/pkg/core/auth/tokens.py missing lines 12-14, 20; partial branches at 15",
            "path": "src/pkg/core/auth/tokens.py",
            "line": 12,
        }
    ]


def test_total_below_its_threshold_fails(tmp_path: Path) -> None:
    gates = "[tool.gates.coverage]\ntotal = 85\n[tool.gates.coverage.critical]\n"
    root = project(tmp_path, gates, {"src/pkg/a.py": measured(range(1, 6), range(6, 11))})

    code, result = run_gate("coverage", root)

    assert code == 1
    assert result["metrics"] == {"total": 50.0}
    assert result["findings"] == [
        {"id": "total", "message": "total coverage 50.00% is below the threshold 85%", "path": ""}
    ]


def test_a_declared_critical_group_that_matches_nothing_fails(tmp_path: Path) -> None:
    gates = AUTH_ONLY + 'ghost = { globs = ["src/pkg/ghost/*", "src/pkg/spirit.py"] }\n'
    root = project(tmp_path, gates, {"src/pkg/core/auth/tokens.py": measured(range(1, 5))})

    code, result = run_gate("coverage", root)

    assert code == 1
    assert [f["id"] for f in result["findings"]] == ["critical-missing:ghost"]
    assert (
        "`ghost` matches no measured file (src/pkg/ghost/*, src/pkg/spirit.py)"
        in (result["findings"][0]["message"])
    )


def test_default_groups_apply_when_none_are_declared(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        "",
        {
            "src/svc/core/db.py": measured(range(1, 5), [5]),
            "src/svc/items/repository.py": measured(range(1, 10)),
            "src/svc/items/service.py": measured(range(1, 90)),
        },
    )

    code, result = run_gate("coverage", root)

    assert code == 1
    assert result["metrics"]["critical.persistence"] == pytest.approx(92.86, abs=0.01)
    assert result["metrics"]["critical.core"] == 80.0
    assert [f["id"] for f in result["findings"]] == ["critical:core"]
    assert {"check": "critical.auth", "reason": "no measured file matches src/*/core/auth/*"} in (
        result["skipped"]
    )
    assert result["thresholds"]["critical.core"] == 90


def test_without_coverage_data_it_asks_for_the_tests_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, "", {})
    (root / "gate-results" / "coverage-data.json").unlink()

    code, result = run_gate("coverage", root)

    assert code == 2
    assert result["status"] == "error"
    assert "run `gates tests` first" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("lines", "shown"),
    [([], ""), ([7], "7"), ([20, 12, 13, 14, 14], "12-14, 20"), ([1, 3, 4, 6], "1, 3-4, 6")],
)
def test_line_ranges_are_compact(lines: list[int], shown: str) -> None:
    assert line_ranges(lines) == shown


@pytest.fixture(params=["top", "subdirectory"])
def repository(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A project whose `origin/main` has a four-line module, at the top of its git repository
    or in a subdirectory of it (a monorepo)."""
    top = tmp_path / "repo"
    root = top if request.param == "top" else top / "services" / "svc"
    root.mkdir(parents=True)
    gates = "[tool.gates.coverage]\ntotal = 0\n\n[tool.gates.coverage.critical]\n"
    (root / "pyproject.toml").write_text(f'[project]\nname = "p"\n\n{gates}', encoding="utf-8")
    (root / ".gitignore").write_text("gate-results/\n", encoding="utf-8")
    module = root / "src" / "pkg" / "mod.py"
    module.parent.mkdir(parents=True)
    module.write_text("a = 1\nb = 2\nc = 3\nd = 4\n", encoding="utf-8")
    git(top, "init", "-q", "-b", "main")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "base")
    git(top, "update-ref", "refs/remotes/origin/main", "HEAD")
    return root


def change(root: Path) -> None:
    """Commit two lines, add two uncommitted lines and an untracked two-line module."""
    module = root / "src" / "pkg" / "mod.py"
    module.write_text(module.read_text() + "e = 5\nf = 6\n", encoding="utf-8")
    git(root, "commit", "-q", "-am", "more")
    module.write_text(module.read_text() + "# a comment\ng = 7\nh = 8\n", encoding="utf-8")
    (root / "src" / "pkg" / "new.py").write_text("x = 1\ny = 2\n", encoding="utf-8")


def test_patch_coverage_counts_committed_uncommitted_and_new_lines(repository: Path) -> None:
    change(repository)
    write_coverage(
        repository,
        {
            "src/pkg/mod.py": measured([1, 2, 3, 4, 5, 6], [8, 9]),
            "src/pkg/new.py": measured([1], [2]),
        },
    )

    code, result = run_gate("coverage", repository)

    assert code == 1
    assert result["metrics"]["patch"] == 50.0
    assert result["thresholds"]["patch"] == 80
    report = json.loads((repository / "gate-results" / "patch-coverage.json").read_text())
    assert report["total_num_lines"] == 6, "diff-cover's own report is kept"
    patch = [(f["path"], f["line"], f["message"]) for f in result["findings"] if f["id"] == "patch"]
    headline = "patch coverage 50.00% (3 of 6 changed lines) is below the threshold 80%"
    assert patch == [
        (
            "src/pkg/mod.py",
            8,
            f"{headline} against origin/main: src/pkg/mod.py uncovered changed lines 8-9",
        ),
        (
            "src/pkg/new.py",
            2,
            f"{headline} against origin/main: src/pkg/new.py uncovered changed lines 2",
        ),
    ]


def test_patch_coverage_passes_when_the_change_is_tested(repository: Path) -> None:
    change(repository)
    write_coverage(
        repository,
        {"src/pkg/mod.py": measured(range(1, 10)), "src/pkg/new.py": measured([1, 2])},
    )

    code, result = run_gate("coverage", repository)

    assert code == 0, result["findings"]
    assert result["metrics"]["patch"] == 100.0


def test_patch_coverage_is_skipped_visibly_when_the_base_does_not_exist(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git(repository, "update-ref", "-d", "refs/remotes/origin/main")
    change(repository)
    write_coverage(repository, {"src/pkg/mod.py": measured(range(1, 7), [8, 9])})

    code, result = run_gate("coverage", repository)

    assert code == 0, result["findings"]
    assert result["status"] == "passed"
    assert "patch" not in result["metrics"]
    reason = "base `origin/main` does not exist here"
    assert result["skipped"] == [{"check": "patch", "reason": reason}]
    err = capsys.readouterr().err
    assert re.search(r"^coverage\.+\(patch skipped\)Passed$", err, flags=re.MULTILINE)
    assert f"- skipped patch: {reason}" in err
    assert f"- skipped `patch`: {reason}" in gate_markdown(repository, "coverage")


def test_patch_coverage_fails_without_its_base_when_the_policy_requires_it(
    repository: Path,
) -> None:
    git(repository, "update-ref", "-d", "refs/remotes/origin/main")
    pyproject = repository / "pyproject.toml"
    policy = "total = 99\nrequire-base = true\n"
    pyproject.write_text(pyproject.read_text().replace("total = 0\n", policy))
    write_coverage(repository, {"src/pkg/mod.py": measured(range(1, 7), [8, 9])})

    code, result = run_gate("coverage", repository)

    assert code == 1
    assert result["status"] == "failed"
    assert result["skipped"] == []
    assert [f["id"] for f in result["findings"]] == ["total", "base-missing"]
    assert result["findings"][1]["message"].startswith(
        "patch cannot be compared: base `origin/main` does not exist here; "
        "[tool.gates.coverage] sets require-base = true."
    )


def test_patch_base_from_the_environment_beats_the_configured_one(
    repository: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = git(repository, "rev-parse", "HEAD").strip()
    git(repository, "update-ref", "-d", "refs/remotes/origin/main")
    pyproject = repository / "pyproject.toml"
    configured = 'total = 0\nbase = "origin/main"\n'
    pyproject.write_text(pyproject.read_text().replace("total = 0\n", configured))
    change(repository)
    write_coverage(repository, {"src/pkg/mod.py": measured(range(1, 7), [8, 9])})
    monkeypatch.setenv("GATES_BASE", base)

    code, result = run_gate("coverage", repository)

    assert code == 1
    assert result["metrics"]["patch"] == 50.0
    assert any(f"against {base}" in f["message"] for f in result["findings"])


@pytest.fixture(scope="module")
def real_runs(
    tmp_path_factory: pytest.TempPathFactory, gates_project: Callable[..., Path]
) -> dict[str, tuple[int, dict[str, Any]]]:
    """`gates all` (tests, then coverage) on a tested auth module, then with untested code."""
    tokens = '''
        """Tokens."""


        def check(token: str) -> bool:
            if not token:
                return False
            return token.startswith("t")
    '''
    revoke = """

        def revoke(token: str) -> None:
            if token:
                raise PermissionError(token)
    """
    files = {
        "src/pkg/__init__.py": "",
        "src/pkg/core/__init__.py": "",
        "src/pkg/core/auth/__init__.py": "",
        "src/pkg/core/auth/tokens.py": tokens,
        "tests/test_tokens.py": """
            from pkg.core.auth.tokens import check


            def test_check() -> None:
                assert check("tok")
                assert not check("")
        """,
    }
    gates = '[tool.gates]\nenabled = ["tests", "coverage"]\n' + AUTH_ONLY
    outcomes = {}
    for name, extra in (("tested", ""), ("untested", revoke)):
        sources = {**files, "src/pkg/core/auth/tokens.py": tokens + extra}
        root = gates_project(tmp_path_factory.mktemp(name), sources, gates=gates)
        code = main(["all", "--project", str(root)])
        result = json.loads((root / "gate-results" / "coverage.json").read_text())
        outcomes[name] = (code, result)
    return outcomes


def test_a_tested_critical_path_passes(real_runs: dict[str, tuple[int, dict[str, Any]]]) -> None:
    code, result = real_runs["tested"]

    assert code == 0, result["findings"]
    assert result["metrics"]["critical.auth"] == 100.0


def test_untested_code_on_a_critical_path_fails(
    real_runs: dict[str, tuple[int, dict[str, Any]]],
) -> None:
    code, result = real_runs["untested"]

    assert code == 1
    assert result["metrics"]["critical.auth"] == 63.64
    assert [(f["id"], f["message"]) for f in result["findings"]] == [
        (
            "critical:auth",
            (
                "critical group `auth` covered 63.64%, below its threshold 90%: "
                "src/pkg/core/auth/tokens.py missing lines 11-12"
            ),
        )
    ]
