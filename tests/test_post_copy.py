"""The post-copy task (`hooks/post_copy.py`): a first commit, setup that never fails the copy,
next steps that say where the service listens.

Each test runs the real git and uv in a tiny project in `tmp_path`; the generated service's
full run is in tests/test_service.py (slow tier).
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from hooks import post_copy

#: A project uv syncs in a moment: no dependencies, and the API document writer the task runs.
_PYPROJECT = """\
[project]
name = "svc"
version = "0"
requires-python = ">=3.11"

[tool.uv]
package = false
"""


def _git(args: list[str], cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


def _service(root: Path, *, writer: str = "api/openapi.json") -> Path:
    """A tiny service: answers naming its release, and `svc.openapi` writing `writer`."""
    (root / "svc").mkdir(parents=True)
    (root / "pyproject.toml").write_text(_PYPROJECT, encoding="utf-8")
    (root / ".gitignore").write_text(".venv/\n", encoding="utf-8")
    (root / ".copier-answers.yml").write_text("_commit: v0.2.0\n_src_path: gh:org/paved\n")
    (root / "svc" / "__init__.py").write_text("")
    (root / "svc" / "openapi.py").write_text(
        textwrap.dedent(f"""\
            from pathlib import Path

            Path("{writer}").parent.mkdir(exist_ok=True)
            Path("{writer}").write_text("{{}}")
            """)
    )
    return root


def test_the_new_service_gets_its_first_commit_with_lock_and_api_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    service = _service(tmp_path / "svc")
    monkeypatch.chdir(service)

    assert post_copy.main(["post_copy.py", "svc", "svc", "jwt", "sqlite"]) == 0

    assert _git(["log", "--format=%s"], service).splitlines() == ["Start svc from paved v0.2.0"]
    assert _git(["status", "--porcelain"], service) == ""
    tracked = _git(["ls-files"], service).split()
    assert {"uv.lock", "api/openapi.json", "pyproject.toml"} <= set(tracked)
    steps = capsys.readouterr().err
    assert "git commit" not in steps
    assert "make run" in steps


def test_a_step_that_fails_is_reported_in_one_line_and_left_to_the_team(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    service = _service(tmp_path / "svc", writer="/proc/no/such/dir/openapi.json")
    monkeypatch.chdir(service)

    assert post_copy.main(["post_copy.py", "svc", "svc", "none", "sqlite"]) == 0

    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "`make api-spec` failed" in err
    assert "  make api-spec\n" in err
    assert 'git add -A && git commit -m "Start svc from paved"' in err
    unborn = subprocess.run(["git", "rev-parse", "--verify", "HEAD"], cwd=service, check=False)
    assert unborn.returncode != 0


def test_without_a_git_identity_no_commit_is_made_and_the_reason_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME"):
        monkeypatch.delenv(key, raising=False)
    for key in ("GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(key, raising=False)
    (tmp_path / "gitconfig").write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    # Nothing configured, and no identity guessed from the host name either.
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "user.useConfigOnly")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "true")
    service = tmp_path / "svc"
    service.mkdir()
    (service / "README.md").write_text("# svc\n")

    assert post_copy.start_repository(service)
    assert not post_copy.first_commit(service, "svc")

    assert "git has no identity (user.name and user.email)" in capsys.readouterr().err
    unborn = subprocess.run(["git", "rev-parse", "--verify", "HEAD"], cwd=service, check=False)
    assert unborn.returncode != 0


def test_a_service_inside_a_repository_with_history_is_left_for_the_team_to_commit(
    tmp_path: Path,
) -> None:
    _git(["init", "--quiet"], tmp_path)
    _git(["commit", "--quiet", "--allow-empty", "-m", "monorepo"], tmp_path)
    (tmp_path / "services" / "svc").mkdir(parents=True)

    assert not post_copy.start_repository(tmp_path / "services" / "svc")
    assert not (tmp_path / "services" / "svc" / ".git").exists()


def test_next_steps_say_where_make_run_listens() -> None:
    default = post_copy.next_steps("svc", Path("/srv/svc"), "jwt", environ={})
    moved = post_copy.next_steps(
        "svc", Path("/srv/svc"), "jwt", environ={"PORT": "9100", "HOST": "10.0.0.7"}
    )

    assert "make run    # serve on 127.0.0.1:8000 (ADMIN_EMAIL" in default
    assert "make run    # serve on 10.0.0.7:9100 (ADMIN_EMAIL" in moved


@pytest.mark.parametrize(
    ("database", "command"),
    [
        ("postgresql", "  createdb -h 127.0.0.1 -U postgres orders    # once"),
        (
            "mysql",
            "  mariadb -h 127.0.0.1 -u root -e 'CREATE DATABASE orders CHARACTER SET utf8mb4'",
        ),
    ],
)
def test_next_steps_with_a_server_database_create_it_before_make_run(
    database: str, command: str
) -> None:
    steps = post_copy.next_steps(
        "orders", Path("/srv/orders"), "jwt", package="orders", database=database, environ={}
    )

    assert command in steps
    assert steps.index(command) < steps.index("make run")
    assert "createdb" not in post_copy.next_steps("orders", Path("/srv"), "jwt", environ={})
