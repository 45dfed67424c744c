"""Questions of copier.yml: defaults, validators, and that a bad answer writes nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pytest_copie.plugin import Copie

from hooks import post_copy
from tests._template import ROOT

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
            r"auth=jwt stores users and refresh tokens in\s+the database, so it needs one",
        ),
        (
            {"auth": "api_key", "database": "none"},
            r"auth=api_key stores API keys in\s+the database, so it needs one",
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
    choices = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))["auth"]["choices"]

    assert set(post_copy.CREDENTIALS) == set(choices.values())
    steps = post_copy.next_steps("svc", Path("/srv/svc"), "api_key")
    assert "make run    # serve on 127.0.0.1:8000 (PORT overrides; ADMIN_API_KEY" in steps
    assert "ADMIN_EMAIL" not in steps
