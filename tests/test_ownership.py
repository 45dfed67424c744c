"""Ownership tiers: one list (ownership.yml) that copier, every service and the tests agree on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pathspec
import pytest
import yaml
from packaging.version import Version

from tests._template import ROOT, render

pytestmark = pytest.mark.filterwarnings("ignore::copier.errors.DirtyLocalWarning")

TIERS = ("enforced", "merged", "seeded")

#: A covering set of answers: between them, every path a tier pattern names is rendered.
VARIANTS: dict[str, dict[str, object]] = {
    "default": {},
    "named": {
        "service_name": "orders-api",
        "owner": "team-orders",
        "coverage_total": 90,
        "observability": "prometheus",
        "deploy": "compose",
    },
    "minimal": {"observability": "logs", "deploy": "none"},
    "no-database": {"database": "none", "auth": "none"},
}

#: copier's own pattern flavour for `_skip_if_exists` (pathspec renamed it in 1.0).
_FLAVOUR = "gitignore" if Version(pathspec.__version__) >= Version("1.0") else "gitwildmatch"


def load_tiers(path: Path = ROOT / "ownership.yml") -> dict[str, list[str]]:
    """The tier lists of an ownership file."""
    tiers = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(tiers, dict)
    return tiers


def tier_matchers(tiers: dict[str, list[str]]) -> dict[str, Callable[[str], bool]]:
    """One matcher per tier, matching service-relative POSIX paths as copier does."""
    return {
        name: pathspec.PathSpec.from_lines(_FLAVOUR, patterns).match_file
        for name, patterns in tiers.items()
    }


def rendered_files(root: Path) -> list[str]:
    """Every file of a rendered service (git's own files aside), relative and POSIX."""
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts
    )


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """What the template renders for each variant (the post-copy task's outputs aside)."""
    return {
        name: render(tmp_path_factory.mktemp(name) / "svc", answers, tasks=False)
        for name, answers in VARIANTS.items()
    }


def test_the_file_has_exactly_the_three_tiers_of_unique_patterns() -> None:
    tiers = load_tiers()

    assert tuple(tiers) == TIERS
    patterns = [p for tier in TIERS for p in tiers[tier]]
    assert all(isinstance(p, str) and p for p in patterns)
    assert len(patterns) == len(set(patterns)), "a pattern is listed twice"


def test_skip_if_exists_is_the_seeded_tier() -> None:
    copier_yml = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))

    assert copier_yml["_skip_if_exists"] == load_tiers()["seeded"]


def test_every_rendered_file_is_in_exactly_one_tier(services: dict[str, Path]) -> None:
    matchers = tier_matchers(load_tiers())
    wrong = {}
    for name, root in services.items():
        for path in rendered_files(root):
            tiers = [tier for tier, matches in matchers.items() if matches(path)]
            if len(tiers) != 1:
                wrong[f"{name}:{path}"] = tiers

    assert wrong == {}, "add each path to exactly one tier of ownership.yml"


def test_every_enforced_and_merged_pattern_names_a_rendered_file(services: dict[str, Path]) -> None:
    # Seeded patterns may also name what the team or the post-copy task writes (api/, new
    # migrations); the template must render whatever it enforces or merges.
    files = {path for root in services.values() for path in rendered_files(root)}
    tiers = load_tiers()
    stale = [
        f"{tier}: {pattern}"
        for tier in ("enforced", "merged")
        for pattern in tiers[tier]
        if not any(tier_matchers({tier: [pattern]})[tier](path) for path in files)
    ]

    assert stale == [], "remove the pattern, or add answers that render it to VARIANTS"


def test_each_service_carries_the_tiers_of_its_release(services: dict[str, Path]) -> None:
    expected = (ROOT / "ownership.yml").read_bytes()
    for root in services.values():
        shipped = root / ".paved" / "ownership.yml"
        assert not shipped.is_symlink()
        assert shipped.read_bytes() == expected


def test_standards_live_in_enforced_files(services: dict[str, Path]) -> None:
    enforced = tier_matchers(load_tiers())["enforced"]
    root = services["default"]
    package = "my_service"
    for path in (
        f"src/{package}/core/app.py",
        f"src/{package}/core/security.py",
        ".github/workflows/gates.yml",
        ".github/workflows/template-update.yml",
        "tools/gates/pyproject.toml",
        "ops/prometheus/alerts.yaml",
        ".pre-commit-config.yaml",
    ):
        assert (root / path).is_file(), path
        assert enforced(path), path


def test_team_files_are_seeded_and_shared_files_merged() -> None:
    matchers = tier_matchers(load_tiers())

    # A team's own feature is in no tier: the template never renders it, the audit ignores it.
    assert not any(matches("src/pkg/orders/service.py") for matches in matchers.values())
    for path in (
        "src/pkg/items/service.py",
        "src/pkg/main.py",
        "tests/unit/test_orders.py",
        "migrations/versions/0002_orders.py",
    ):
        assert matchers["seeded"](path), path
    for path in ("pyproject.toml", "Makefile", "README.md", "renovate.json", "deploy/x.yaml"):
        assert matchers["merged"](path), path
    assert not matchers["merged"]("tools/gates/pyproject.toml")


def test_the_update_guide_points_at_the_tier_list() -> None:
    guide = (ROOT / "docs" / "update.md").read_text(encoding="utf-8")

    assert "ownership.yml" in guide
    assert all(tier in guide for tier in TIERS)
