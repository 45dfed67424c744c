"""Questions of copier.yml: defaults, validators, and that a bad answer writes nothing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import run_copy
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from pytest_copie.plugin import Copie

from hooks import post_copy
from tests._template import ROOT

CONFIG: dict[str, Any] = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
#: The questions copier asks, in order (computed answers are never asked).
ASKED = [
    key
    for key, question in CONFIG.items()
    if not key.startswith("_") and isinstance(question, dict) and question.get("when") is not False
]
ENTER, DOWN = "\r", "\x1b[B"


def _values(question: str) -> list[str]:
    return [
        choice["value"] if isinstance(choice, dict) else choice
        for choice in CONFIG[question]["choices"].values()
    ]


def _answer_interactively(dst: Path, keys: dict[str, str]) -> dict[str, Any]:
    """Run `copier copy` at its prompts, typing `keys[question]` (else Enter) at each one."""
    with create_pipe_input() as typed:
        for question in ASKED:
            typed.send_text(keys.get(question, ENTER))
        with create_app_session(input=typed, output=DummyOutput()):
            run_copy(str(ROOT), dst, vcs_ref="HEAD", unsafe=True, skip_tasks=True, quiet=True)
    answers: dict[str, Any] = yaml.safe_load((dst / ".copier-answers.yml").read_text())
    return answers


pytestmark = pytest.mark.filterwarnings("ignore::copier.errors.DirtyLocalWarning")


def test_defaults_render_the_default_service(copie: Copie) -> None:
    result = copie.copy()

    assert result.exit_code == 0, result.exception
    assert result.project_dir is not None
    answers = yaml.safe_load((result.project_dir / ".copier-answers.yml").read_text())
    assert answers["service_name"] == "my-service"
    assert answers["package_name"] == "my_service"
    assert answers["api"] == ["rest"]
    assert (answers["database"], answers["cache"], answers["auth"]) == (
        "sqlite",
        "none",
        "jwt",
    )
    assert (answers["observability"], answers["deploy"]) == ("otel", "kubernetes")
    assert (answers["coverage_total"], answers["coverage_critical"]) == (85, 90)


def test_without_a_database_auth_defaults_to_one_that_stores_nothing(copie: Copie) -> None:
    result = copie.copy(extra_answers={"database": "none"})

    assert result.exit_code == 0, result.exception
    assert result.project_dir is not None
    answers = yaml.safe_load((result.project_dir / ".copier-answers.yml").read_text())
    assert (answers["database"], answers["auth"]) == ("none", "oidc")


def test_choosing_no_database_at_the_prompt_offers_only_auths_that_store_nothing(
    tmp_path: Path,
) -> None:
    to_none = DOWN * _values("database").index("none") + ENTER

    taken = _answer_interactively(tmp_path / "default", {"database": to_none})
    # From the default (oidc), one step down skips api_key, which needs a database.
    stepped = _answer_interactively(tmp_path / "down", {"database": to_none, "auth": DOWN + ENTER})

    assert _values("auth") == ["jwt", "oidc", "api_key", "none"]
    assert (taken["database"], taken["auth"]) == ("none", "oidc")
    assert (stepped["database"], stepped["auth"]) == ("none", "none")


def test_database_none_is_offered_with_an_auth_that_stores_nothing(copie: Copie) -> None:
    result = copie.copy(extra_answers={"database": "none", "auth": "none"})

    assert result.exit_code == 0, result.exception
    assert result.project_dir is not None
    answers = yaml.safe_load((result.project_dir / ".copier-answers.yml").read_text())
    assert (answers["database"], answers["auth"]) == ("none", "none")
    assert not (result.project_dir / "migrations").exists()


@pytest.mark.slow  # four services, each through the post-copy task (uv sync): minutes
@pytest.mark.parametrize("auth", ["jwt", "oidc", "api_key", "none"])
def test_grpc_alone_is_offered_with_every_auth(copie: Copie, auth: str) -> None:
    result = copie.copy(extra_answers={"api": ["grpc"], "auth": auth})

    assert result.exit_code == 0, result.exception
    assert result.project_dir is not None
    answers = yaml.safe_load((result.project_dir / ".copier-answers.yml").read_text())
    assert (answers["api"], answers["auth"]) == (["grpc"], auth)
    assert (result.project_dir / "src" / "my_service" / "items" / "api_grpc.py").is_file()
    assert not (result.project_dir / "src" / "my_service" / "items" / "api_rest.py").exists()


def test_package_name_defaults_from_service_name(copie: Copie) -> None:
    result = copie.copy(extra_answers={"service_name": "orders-api"})

    assert result.exit_code == 0, result.exception
    assert result.project_dir is not None
    assert (result.project_dir / "src" / "orders_api").is_dir()


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        (
            {"service_name": "Orders"},
            r"service_name must be 3-40 characters of lowercase",
        ),
        ({"service_name": "orders-"}, r"service_name must .* not ending with a hyphen"),
        ({"service_name": "x"}, r"service_name must be 3-40 characters"),
        ({"service_name": "9lives"}, r"starting with a letter"),
        (
            {"package_name": "orders-api"},
            r"package_name must be a lowercase Python identifier",
        ),
        (
            {"package_name": "2fast"},
            r"package_name must be a lowercase Python identifier",
        ),
        ({"package_name": "class"}, r"package_name must not be a Python keyword"),
        ({"package_name": "tests"}, r"name the service layout reserves"),
        ({"service_name": "off"}, r"service_name must not read as a YAML boolean"),
        ({"owner": "Team A"}, r"owner must be a Backstage entity name"),
        ({"owner": "1234"}, r"owner must not be only digits"),
        ({"api": []}, r"api needs at least one API style"),
        ({"api": ["soap"]}, r"Invalid choice for 'api': 'soap'"),
        ({"database": "oracle"}, r"Invalid choice for 'database': 'oracle'"),
        (
            {"auth": "jwt", "database": "none"},
            r"auth=jwt stores users and refresh tokens in the database, so it needs one",
        ),
        (
            {"auth": "api_key", "database": "none"},
            r"auth=api_key stores API keys in the database, so it needs one",
        ),
        ({"cache": "memcached"}, r"Invalid choice for 'cache': 'memcached'"),
        ({"coverage_total": 49}, r"coverage_total must be between 50 and 100"),
        ({"coverage_total": 101}, r"coverage_total must be between 50 and 100"),
        (
            {"coverage_critical": 80},
            r"coverage_critical must be between coverage_total \(85\)",
        ),
    ],
)
def test_bad_answer_names_question_and_rule_and_writes_nothing(
    copie: Copie, answers: dict[str, object], message: str
) -> None:
    result = copie.copy(extra_answers=answers)

    assert result.exit_code != 0
    assert isinstance(result.exception, ValueError)
    question = next(iter(answers))
    assert f"'{question}'" in str(result.exception)
    assert re.search(message, str(result.exception))
    written = [p for p in Path(copie.test_dir).rglob("*") if p.is_file()]
    assert written == []


def test_next_steps_name_what_make_run_needs_for_every_auth_choice() -> None:
    assert set(post_copy.CREDENTIALS) == set(_values("auth"))
    steps = post_copy.next_steps("svc", Path("/srv/svc"), "api_key", environ={})
    assert "make run    # serve on 127.0.0.1:8000 (ADMIN_API_KEY" in steps
    assert "ADMIN_EMAIL" not in steps


# The destination: a copy never overwrites what is there unless asked to


def _copy_into(dst: Path, **options: Any) -> Path:
    run_copy(
        str(ROOT),
        dst,
        defaults=True,
        vcs_ref="HEAD",
        unsafe=True,
        skip_tasks=True,
        quiet=True,
        **options,
    )
    return dst


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.parts
    }


def _folder(root: Path, files: dict[str, str]) -> Path:
    """A folder holding `files` in a fresh git repository, as a clone of a new repository."""
    root.mkdir()
    subprocess.run(["git", "init", "--quiet"], cwd=root, check=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_a_destination_holding_files_of_a_service_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    dst = _folder(
        tmp_path / "svc",
        {"README.md": "ours\n", "src/legacy/app.py": "x = 1\n", "LICENSE": "MIT\n"},
    )
    before = _tree(dst)

    with pytest.raises(ValueError, match="already holds files of a service") as refused:
        _copy_into(dst)

    assert "(README.md, src/legacy/app.py)" in str(refused.value)
    assert "--overwrite" in str(refused.value)
    assert _tree(dst) == before


def test_a_generated_service_is_pointed_to_copier_update(tmp_path: Path) -> None:
    service = _copy_into(tmp_path / "svc")

    with pytest.raises(ValueError, match=r"It is a generated service: `copier update`"):
        _copy_into(service)


def test_a_folder_with_only_a_repository_and_unrelated_files_is_copied_into(tmp_path: Path) -> None:
    unrelated = {"LICENSE": "MIT\n", "docs/design.md": "# Design\n", ".github/CODEOWNERS": "*\n"}
    dst = _folder(tmp_path / "svc", unrelated)

    _copy_into(dst)

    assert (dst / "pyproject.toml").is_file()
    assert all((dst / name).read_text() == text for name, text in unrelated.items())


def test_overwrite_replaces_what_the_destination_held(tmp_path: Path) -> None:
    dst = _folder(tmp_path / "svc", {"README.md": "ours\n"})

    _copy_into(dst, overwrite=True)

    assert (dst / "README.md").read_text().startswith("# my-service\n")


#: copier of this repo's venv, run as a user runs it.
COPIER = str(Path(sys.executable).with_name("copier"))


@pytest.mark.parametrize(
    ("arguments", "files", "message"),
    [
        (
            ["--data", "service_name=Bad"],
            {},
            "Validation error for question 'service_name': service_name must be 3-40 characters",
        ),
        (
            ["--data", "database=none", "--data", "auth=api_key"],
            {},
            "Invalid choice for 'auth': auth=api_key stores API keys in the database",
        ),
        ([], {"Makefile": "all:\n"}, "already holds files of a service (Makefile)"),
    ],
)
def test_the_command_line_ends_with_the_reason_and_writes_nothing(
    tmp_path: Path, arguments: list[str], files: dict[str, str], message: str
) -> None:
    dst = _folder(tmp_path / "svc", files)

    refused = subprocess.run(
        [
            COPIER,
            "copy",
            "--trust",
            "--defaults",
            "--vcs-ref",
            "HEAD",
            *arguments,
            str(ROOT),
            str(dst),
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    assert refused.returncode != 0
    assert message in refused.stderr.strip().splitlines()[-1]
    assert _tree(dst) == {name: text.encode() for name, text in files.items()}
