"""Rendered output: no Jinja left, formatted and lint-clean, deterministic, tiers in place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tests._template import ROOT, render, run, text_files, unrendered

pytestmark = pytest.mark.filterwarnings("ignore::copier.errors.DirtyLocalWarning")

VARIANTS = {
    "default": {},
    "named": {
        "service_name": "orders-api",
        "owner": "team-orders",
        "coverage_total": 90,
    },
}

#: ruff of this repo's venv, run on the rendered tree with the rendered configuration.
_ROOT_ENV = dict(os.environ)


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp(request.param), VARIANTS[request.param], tasks=False)


def test_no_unrendered_jinja(service: Path) -> None:
    assert unrendered(service) == []


def test_python_is_formatted_and_lint_clean(service: Path) -> None:
    run(["ruff", "format", "--check", "--no-cache", "."], service, env=_ROOT_ENV)
    run(["ruff", "check", "--no-cache", "."], service, env=_ROOT_ENV)


def test_seeded_files_exist_and_are_skipped_on_update() -> None:
    skip = yaml.safe_load((ROOT / "copier.yml").read_text())["_skip_if_exists"]
    for seeded in (
        "src/*/main.py",
        "src/*/settings.py",
        "src/*/items/**",
        "tests/**",
        "local.mk",
    ):
        assert seeded in skip


def test_rendering_is_deterministic(service: Path, tmp_path: Path) -> None:
    answers = yaml.safe_load((service / ".copier-answers.yml").read_text())
    again = render(
        tmp_path / "again", {k: v for k, v in answers.items() if k[0] != "_"}, tasks=False
    )
    commit_of = {
        path: yaml.safe_load((path / ".copier-answers.yml").read_text()).get("_commit", "")
        for path in (service, again)
    }

    def contents(root: Path) -> dict[str, str]:
        # A dirty tree renders from a temporary commit of its own each time; an all-digit
        # hash is quoted in the answers file, so that YAML reads it as a string.
        commit = commit_of[root]
        return {
            str(p.relative_to(root)): p.read_text(encoding="utf-8")
            .replace(f"'{commit}'", commit)
            .replace(commit, "<commit>")
            for p in text_files(root)
        }

    assert contents(again) == contents(service)
