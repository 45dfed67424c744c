"""Shared test setup: a git identity for the repositories tests create, tiny gate projects."""

from __future__ import annotations

import os
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

# Rendered services and tiny gate projects are git repositories; CI machines have no identity.
for _key, _value in {
    "GIT_AUTHOR_NAME": "paved tests",
    "GIT_AUTHOR_EMAIL": "tests@paved.invalid",
    "GIT_COMMITTER_NAME": "paved tests",
    "GIT_COMMITTER_EMAIL": "tests@paved.invalid",
}.items():
    os.environ.setdefault(_key, _value)
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")


def _group(item: pytest.Item) -> str:
    marker = item.get_closest_marker("xdist_group")
    assert marker is not None  # pytest_collection_modifyitems gives every test one
    return str(marker.args[0])


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> Iterator[None]:
    """Keep a module's tests on one xdist worker (they share module-scoped renders), unless
    they name their own group: under `--dist loadgroup` the option matrix spreads its
    combinations over the workers.

    Then order the groups as xdist hands them out (pyproject.toml turns its own reordering
    off): those holding a `long` test first, the rest by their number of tests. xdist's own
    order, most tests first, left the one-test runs of a service's gates (minutes each) for
    last, and a run ended on one of them while the other worker had nothing left to do.
    """
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.path.stem))
    yield
    sizes = Counter(map(_group, items))
    long = {_group(item) for item in items if item.get_closest_marker("long")}
    rank = {group: (group not in long, -size) for group, size in sizes.items()}
    items.sort(key=lambda item: rank[_group(item)])


@pytest.fixture(scope="module", autouse=True)
def _tiny_suites_without_copie(request: pytest.FixtureRequest) -> Iterator[None]:
    """Run the gates' tiny suites without this repository's pytest-copie plugin.

    Those tests run pytest on tiny projects with this repository's interpreter, where
    pytest-copie would import copier into every run (seconds each) for suites that never use
    it. Module-scoped, so the modules' own module-scoped gate runs see it too.
    """
    with pytest.MonkeyPatch.context() as patch:
        if request.module.__name__.startswith("tests.test_gates_"):
            patch.setenv("PYTEST_ADDOPTS", "-p no:copie")
        yield


_TINY_PYPROJECT = """\
[project]
name = "pkg"
version = "0"
requires-python = ">=3.11"

[tool.ruff]
line-length = 100

[tool.ruff.lint]
select = ["E", "F", "I", "UP", "B"]

[tool.mypy]
mypy_path = "src"

[tool.pytest.ini_options]
pythonpath = ["src"]
testpaths = ["tests"]

[tool.coverage.run]
source = ["src"]
"""


@pytest.fixture(scope="session")
def gates_project() -> Callable[..., Path]:
    """Write a tiny project for the gates: `src/pkg`, tests, and `[tool.gates]` from `gates`.

    Call it as `gates_project(root, {"src/pkg/x.py": "..."}, gates="[tool.gates]\\n...")`.
    """

    def make(root: Path, files: Mapping[str, str], *, gates: str = "") -> Path:
        root.mkdir(parents=True, exist_ok=True)
        (root / "pyproject.toml").write_text(_TINY_PYPROJECT + "\n" + gates, encoding="utf-8")
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return root

    return make
