"""The option matrix: every offered combination renders clean; a pairwise cover runs its checks.

Every combination of the questions that offer more than one choice (each non-empty subset of a
multi-select), less those the validators refuse, renders with no Jinja left, formats and lints
clean, and generates exactly the parts its answers choose. The fast tier renders the pairwise
cover; the full tier (`-m ''`) renders every combination, and generates the cover as a user
would: mypy, its own tests and `gates all`.
"""

from __future__ import annotations

import ast
import functools
import itertools
import json
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from jinja2 import Environment, Template

from tests._fast_render import render_from, snapshot
from tests._template import (
    GATES_TIMEOUT_SECONDS,
    ROOT,
    destination_conflicts,
    readme_section,
    render,
    run,
    service_env,
    unrendered,
)
from tests.osv_server import serve

pytestmark = pytest.mark.filterwarnings("ignore::copier.errors.DirtyLocalWarning")

_CONFIG: dict[str, Any] = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
#: ruff of this repo's venv, run on the rendered tree with the rendered configuration.
_ROOT_ENV = dict(os.environ)


def _choices(question: Mapping[str, Any]) -> dict[Any, str]:
    """A question's choice values, each with its own validator ("" for none)."""
    choices = question.get("choices", [])
    entries = choices.values() if isinstance(choices, dict) else choices
    return {
        entry["value"] if isinstance(entry, dict) else entry: (
            entry.get("validator", "") if isinstance(entry, dict) else ""
        )
        for entry in entries
    }


def _values(question: Mapping[str, Any]) -> list[Any]:
    return list(_choices(question))


def _answers(question: Mapping[str, Any]) -> list[Any]:
    """Every answer a question takes: a value, or each non-empty subset of a multi-select."""
    values = _values(question)
    if not question.get("multiselect"):
        return values
    sizes = range(1, len(values) + 1)
    return [list(subset) for size in sizes for subset in itertools.combinations(values, size)]


def _cover_values(question: Mapping[str, Any]) -> list[Any]:
    """A multi-select's values, each alone: a pair of option values holds a value, not a set."""
    values = _values(question)
    return [[value] for value in values] if question.get("multiselect") else values


def _varied(answers: Callable[[Mapping[str, Any]], list[Any]]) -> dict[str, list[Any]]:
    return {
        key: answers(question)
        for key, question in _CONFIG.items()
        if not key.startswith("_")
        and isinstance(question, dict)
        and question.get("when") is not False
        and len(_values(question)) > 1
    }


def option_factors() -> dict[str, list[Any]]:
    """The questions of copier.yml that offer more than one choice, with their values."""
    return _varied(_cover_values)


#: Renders copier.yml's defaults and validators: plain text, not HTML.
_JINJA = Environment(keep_trailing_newline=True)  # noqa: S701


@functools.cache
def _template(source: str) -> Template:
    return _JINJA.from_string(source)


def _context(answers: Mapping[str, Any]) -> dict[str, Any]:
    """`answers`, and every other question at its default (rendered from earlier answers)."""
    context: dict[str, Any] = {}
    for key, question in _CONFIG.items():
        if key.startswith("_") or not isinstance(question, dict):
            continue
        default = question.get("default")
        if isinstance(default, str):
            default = _template(default).render(context)
        context[key] = answers.get(key, default)
    return context


def refusal(answers: Mapping[str, Any]) -> str:
    """What copier.yml's validators say to `answers` (others at their defaults); "" if nothing.

    Only the varied questions' validators are read, the question's own and those of the
    choices answered; they need no filters of copier's own.
    """
    context = _context(answers)
    validators = (
        validator
        for key in option_factors()
        for validator in (
            _CONFIG[key].get("validator", ""),
            *(
                _choices(_CONFIG[key])[value]
                for value in (context[key] if isinstance(context[key], list) else [context[key]])
            ),
        )
    )
    messages = (_template(validator).render(context).strip() for validator in validators)
    return next((message for message in messages if message), "")


@functools.cache
def _refused(answers: str) -> bool:
    return refusal(json.loads(answers)) != ""


def offered(answers: Mapping[str, Any]) -> bool:
    """Whether copier.yml's validators accept `answers`."""
    return not _refused(json.dumps(answers, sort_keys=True))


_Pair = tuple[str, str, str, str]  # (factor, value, later factor, value); values as JSON


def _pairs(row: Mapping[str, Any]) -> set[_Pair]:
    return {
        (a, json.dumps(row[a]), b, json.dumps(row[b]))
        for a, b in itertools.combinations(sorted(row), 2)
    }


def pairwise_cover(
    factors: Mapping[str, Sequence[Any]],
    allowed: Callable[[Mapping[str, Any]], bool] = lambda row: True,
) -> list[dict[str, Any]]:
    """Allowed combinations in which every pair of values of two factors that some allowed
    combination holds appears at least once.

    Greedy and deterministic: each row is the allowed combination that holds the first pair
    not yet covered and covers the most uncovered pairs (the first in product order on a tie).
    With two factors this is every allowed combination; with more, far fewer. With fewer than
    two factors there are no pairs: every allowed value still appears once.
    """
    candidates = [
        row
        for row in (
            dict(zip(factors, combo, strict=True)) for combo in itertools.product(*factors.values())
        )
        if allowed(row)
    ]
    if len(factors) < 2:
        return candidates
    uncovered = set().union(*map(_pairs, candidates))
    rows: list[dict[str, Any]] = []
    while uncovered:
        first = min(uncovered)
        best = max(
            (row for row in candidates if first in _pairs(row)),
            key=lambda row: len(_pairs(row) & uncovered),
        )
        uncovered -= _pairs(best)
        rows.append(best)
    return rows


def _all_pairs(
    factors: Mapping[str, Sequence[Any]],
    allowed: Callable[[Mapping[str, Any]], bool] = lambda pair: True,
) -> set[_Pair]:
    return {
        (a, json.dumps(x), b, json.dumps(y))
        for a, b in itertools.combinations(sorted(factors), 2)
        for x in factors[a]
        for y in factors[b]
        if allowed({a: x, b: y})
    }


def _covered_pairs(rows: Sequence[Mapping[str, Any]]) -> set[_Pair]:
    return set().union(*map(_pairs, rows))


FACTORS = option_factors()
ANSWERS = _varied(_answers)
DEFAULTS = {key: value for key, value in _context({}).items() if key in FACTORS}
PRODUCT = [dict(zip(ANSWERS, combo, strict=True)) for combo in itertools.product(*ANSWERS.values())]
COMBINATIONS = [answers for answers in PRODUCT if offered(answers)]
REFUSED = [answers for answers in PRODUCT if not offered(answers)]
#: Every API style in one service, beside the cover's one style at a time.
EVERY_STYLE = {**DEFAULTS, "api": _answers(_CONFIG["api"])[-1]}
#: The default combination is generated and checked in full by tests/test_service.py.
COVER = [row for row in pairwise_cover(FACTORS, offered) if row != DEFAULTS]
if EVERY_STYLE not in [DEFAULTS, *COVER]:
    COVER.append(EVERY_STYLE)


def _name(answers: Mapping[str, Any]) -> str:
    return "-".join(
        "+".join(value) if isinstance(value, list) else str(value) for value in answers.values()
    )


# The cover


def test_the_matrix_varies_observability_and_deploy() -> None:
    assert FACTORS["observability"] == ["otel", "prometheus", "logs"]
    assert FACTORS["deploy"] == ["kubernetes", "compose", "none"]
    assert FACTORS["database"] == ["sqlite", "postgresql", "mysql", "none"]


def test_the_matrix_varies_the_cache() -> None:
    assert FACTORS["cache"] == ["none", "redis"]


def test_the_matrix_varies_auth() -> None:
    assert FACTORS["auth"] == ["jwt", "oidc", "api_key", "none"]


def test_the_matrix_varies_the_api_styles_one_at_a_time() -> None:
    assert FACTORS["api"] == [["rest"], ["graphql"], ["grpc"]]


@pytest.mark.parametrize(
    "factors",
    [
        FACTORS,
        {"a": [1, 2, 3], "b": ["x", "y", "z"]},
        {"a": [1, 2, 3], "b": ["x", "y"], "c": [True, False], "d": ["p", "q", "r", "s"]},
        {"a": [["rest"], ["grpc"]], "b": [1, 2, 3], "c": ["u", "v", "w"], "d": [0, 1], "e": [0, 1]},
    ],
    ids=["options", "two-factors", "four-factors", "five-factors-multiselect"],
)
def test_pairwise_cover_contains_every_pair(factors: dict[str, list[Any]]) -> None:
    cover = pairwise_cover(factors)

    assert _covered_pairs(cover) >= _all_pairs(factors)
    assert all(set(row) == set(factors) for row in cover)
    assert all(row[key] in factors[key] for row in cover for key in row)
    assert cover == pairwise_cover(factors), "the cover is deterministic"
    everything = len(list(itertools.product(*factors.values())))
    if len(factors) > 2:
        assert len(cover) < everything, "a pairwise cover is smaller than the full product"
    else:
        assert len(cover) == everything


def test_pairwise_cover_keeps_to_allowed_combinations() -> None:
    factors: dict[str, list[Any]] = {"a": [1, 2, 3], "b": ["x", "y"], "c": ["u", "v", "w"]}

    def allowed(row: Mapping[str, Any]) -> bool:
        return not (row.get("a") == 3 and row.get("b") == "x")

    cover = pairwise_cover(factors, allowed)

    assert all(allowed(row) for row in cover)
    assert _covered_pairs(cover) >= _all_pairs(factors, allowed)
    assert ("a", "3", "b", '"x"') not in _covered_pairs(cover)


def test_pairwise_cover_of_fewer_than_two_factors_lists_each_value() -> None:
    assert pairwise_cover({"a": [1, 2, 3]}) == [{"a": 1}, {"a": 2}, {"a": 3}]
    assert pairwise_cover({}) == [{}]


def test_slow_tier_covers_every_offered_pair_with_the_default_service() -> None:
    offered_rows = pairwise_cover(FACTORS, offered)  # every offered pair, by construction
    offered_pairs = _covered_pairs(
        [
            row
            for row in (
                dict(zip(FACTORS, c, strict=True)) for c in itertools.product(*FACTORS.values())
            )
            if offered(row)
        ]
    )

    assert _covered_pairs([*COVER, DEFAULTS]) >= offered_pairs
    assert _covered_pairs(offered_rows) == offered_pairs
    assert DEFAULTS not in COVER
    assert EVERY_STYLE in [DEFAULTS, *COVER], "one service serves every API style at once"


def test_a_multiselect_is_answered_by_every_non_empty_subset() -> None:
    styles = _values(_CONFIG["api"])

    assert _answers(_CONFIG["api"])[: len(styles)] == [[style] for style in styles]
    assert _answers(_CONFIG["api"])[-1] == styles
    assert len(_answers(_CONFIG["api"])) == 2 ** len(styles) - 1


def test_refusals_are_copier_s_own(tmp_path: Path, template_snapshot: Path) -> None:
    """The matrix leaves out exactly what copier refuses: one of each refusal, rendered."""
    assert refusal(DEFAULTS) == ""
    examples = {refusal(answers): answers for answers in reversed(REFUSED)}
    for n, (message, answers) in enumerate(examples.items()):
        with pytest.raises(ValueError, match=re.escape(message.split("\n")[0])):
            render_from(template_snapshot, tmp_path / str(n), answers)
        assert not (tmp_path / str(n)).exists() or not any((tmp_path / str(n)).iterdir())


# Every combination, rendered


@pytest.fixture(scope="session")
def template_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return snapshot(tmp_path_factory.mktemp("template"))


def _rendered(answers: dict[str, Any]) -> Any:  # a pytest.param (ParameterSet is not public)
    """A combination, in its own xdist group (its checks share a render); the fast tier
    renders the cover's combinations only."""
    marks = [pytest.mark.xdist_group(_name(answers))]
    if answers not in [DEFAULTS, *COVER]:
        marks.append(pytest.mark.slow)
    return pytest.param(answers, marks=marks, id=_name(answers))


@pytest.fixture(scope="module", params=[_rendered(answers) for answers in COMBINATIONS])
def service(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    template_snapshot: Path,
) -> Path:
    dst = tmp_path_factory.mktemp(_name(request.param))
    return render_from(template_snapshot, dst, request.param)


def _answers_of(service: Path) -> dict[str, Any]:
    answers: dict[str, Any] = yaml.safe_load((service / ".copier-answers.yml").read_text())
    return answers


def test_no_unrendered_jinja(service: Path) -> None:
    assert unrendered(service) == []


def test_copying_again_into_the_service_would_be_refused_naming_every_file(service: Path) -> None:
    written = {str(path.relative_to(service)) for path in service.rglob("*") if path.is_file()}

    assert destination_conflicts(service) == written


def test_python_is_formatted_and_lint_clean(service: Path) -> None:
    run(["ruff", "format", "--check", "--no-cache", "."], service, env=_ROOT_ENV)
    run(["ruff", "check", "--no-cache", "."], service, env=_ROOT_ENV)


def test_readme_lists_every_make_target(service: Path) -> None:
    """The README's table of make targets names each target the Makefile documents."""
    makefile = (service / "Makefile").read_text(encoding="utf-8")
    documented = set(re.findall(r"^([a-z][a-z-]*):.*## ", makefile, flags=re.MULTILINE))
    readme = (service / "README.md").read_text(encoding="utf-8")
    table = readme_section(readme, "Make targets")
    listed = set(re.findall(r"^\| `make ([a-z][a-z-]*)", table, flags=re.MULTILINE))

    assert "help" in documented
    assert listed == documented


def test_readme_names_the_example_feature_s_modules(service: Path) -> None:
    """The README's layout row of `items/` names its modules, each API style's included."""
    readme = (service / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `src/my_service/items/`"))
    named = set(re.findall(r"`(\w+)`", row.split(" | ")[2]))
    items = service / "src" / "my_service" / "items"

    assert named == {path.stem for path in items.glob("*.py")} - {"__init__"}


def test_readme_python_runs_against_the_service_s_own_modules(service: Path) -> None:
    """Python the README feeds to `uv run python -` parses, and what it imports of the service
    exists: a module under `src/`, or one `make proto` generates from a `.proto` file."""
    readme = (service / "README.md").read_text(encoding="utf-8")
    scripts = re.findall(r"uv run python - <<'EOF'\n(.*?)\nEOF\n", readme, flags=re.S)
    imports = [
        (node.module, alias.name)
        for script in scripts
        for node in ast.walk(ast.parse(script))
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    ]
    own = [(module, name) for module, name in imports if module.startswith("my_service.")]

    assert bool(own) is ("grpc" in _answers_of(service)["api"])
    for module, name in own:
        folder = Path(*module.split("."))
        stem = name.removesuffix("_grpc").removesuffix("_pb2")
        sources = [
            service / "src" / folder / f"{name}.py",
            service / "proto" / folder / f"{stem}.proto",
        ]
        assert any(path.is_file() for path in sources), f"{module}.{name}"


def test_readme_copies_a_feature_from_paths_the_service_has(service: Path) -> None:
    """*Add a feature* copies from `items/` paths that exist; the full tier runs it."""
    readme = (service / "README.md").read_text(encoding="utf-8")
    section = readme_section(readme, "Add a feature")
    copy = re.findall(r"```sh\n(.*?)\n```", section, flags=re.S)[0]
    sources = set(re.findall(r"\b((?:src|proto)/\S*/items\S*)", copy))

    assert "src/my_service/items" in sources
    assert ("proto/my_service/items/v1/items.proto" in sources) is (service / "proto").is_dir()
    for source in sources:
        assert (service / source).exists(), source


def _code(service: Path) -> dict[str, str]:
    """The dependency list and every source and test module, by path."""
    paths = [service / "pyproject.toml", *sorted((service / "src").rglob("*.py"))]
    paths += sorted((service / "tests").rglob("*.py"))
    return {str(p.relative_to(service)): p.read_text(encoding="utf-8") for p in paths}


def test_observability_generates_its_stack_and_nothing_more(service: Path) -> None:
    observability = _answers_of(service)["observability"]
    code = _code(service)
    core = service / "src" / "my_service" / "core"
    mentions = {
        word: sorted(path for path, text in code.items() if word in text.lower())
        for word in ("opentelemetry", "prometheus", "trace_id", "/metrics")
    }

    assert (core / "tracing.py").is_file() is (observability == "otel")
    assert (core / "metrics.py").is_file() is (observability != "logs")
    assert (service / "ops").is_dir() is (observability != "logs")
    assert (core / "access_log.py").is_file()
    if observability == "otel":
        assert "pyproject.toml" in mentions["opentelemetry"]
        assert "pyproject.toml" in mentions["prometheus"]
    else:
        assert mentions["opentelemetry"] == []
        assert [p for p in mentions["trace_id"] if p.startswith("src/")] == []
        assert "OTEL_" not in (service / "README.md").read_text(encoding="utf-8")
    if observability == "prometheus":
        assert "pyproject.toml" in mentions["prometheus"]
    if observability == "logs":
        assert mentions["prometheus"] == []
        assert [p for p in mentions["/metrics"] if p.startswith("src/")] == []


#: What each database generates: its async driver, as named in code, URLs and dependencies.
DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg", "mysql": "aiomysql"}


def test_database_generates_its_driver_and_nothing_of_the_others(service: Path) -> None:
    database = _answers_of(service)["database"]
    code = _code(service)
    code.update(
        (str(p.relative_to(service)), p.read_text(encoding="utf-8"))
        for p in [*service.glob("*.y*ml"), *(service / ".github" / "workflows").glob("*.yml")]
    )
    # The SQLite service's own tests name a server URL once, to show a helper ignores it.
    mentions = {
        driver: sorted(
            path
            for path, text in code.items()
            if driver in text
            and not (database == "sqlite" and path == "tests/integration/test_database.py")
        )
        for driver in DRIVERS.values()
    }
    test_server = service / "tests" / "server_database.py"
    workflow = (service / ".github" / "workflows" / "gates.yml").read_text(encoding="utf-8")
    gates = tomllib.loads(code["pyproject.toml"])["tool"]["gates"]
    if database == "none":
        assert all(paths == [] for paths in mentions.values()), mentions
        assert not re.search(r'"(sqlalchemy|alembic)\b', code["pyproject.toml"])
        assert not (service / "migrations").exists()
        assert not (service / "alembic.ini").exists()
        assert not (service / "src" / "my_service" / "core" / "db.py").exists()
        assert "migrations" not in gates["enabled"]
        assert "migrations" not in gates
        assert "DATABASE_URL" not in code["src/my_service/core/settings.py"]
        assert not test_server.is_file()
        assert "TEST_DATABASE_URL" not in workflow
        assert "image: postgres:" not in workflow
        assert "image: mariadb:" not in workflow
        assert "migrate:" not in (service / "Makefile").read_text(encoding="utf-8")
        if (service / "compose.yaml").is_file():
            services = yaml.safe_load((service / "compose.yaml").read_text())["services"]
            assert set(services) & {"db", "migrate"} == set()
        kubernetes = service / "deploy" / "kubernetes"
        assert not (kubernetes / "persistentvolumeclaim.yaml").exists()
        return
    assert "migrations" in gates["enabled"]
    assert (service / "migrations" / "env.py").is_file()

    assert f'"{DRIVERS[database]}>=' in code["pyproject.toml"]
    assert f"+{DRIVERS[database]}://" in code["src/my_service/settings.py"]
    for other in set(DRIVERS) - {database}:
        assert mentions[DRIVERS[other]] == [], other
    assert test_server.is_file() is (database != "sqlite")
    assert ("TEST_DATABASE_URL" in workflow) is (database != "sqlite")
    assert ("image: postgres:" in workflow) is (database == "postgresql")
    assert ("image: mariadb:" in workflow) is (database == "mysql")
    if (service / "compose.yaml").is_file():
        services = yaml.safe_load((service / "compose.yaml").read_text())["services"]
        assert ("db" in services) is (database != "sqlite")


_IMPORTS_REDIS = re.compile(r"^\s*(from|import) redis\b", flags=re.MULTILINE)


def test_cache_generates_redis_and_nothing_more(service: Path) -> None:
    answers = _answers_of(service)
    redis = answers["cache"] == "redis"
    code = _code(service)
    core = service / "src" / "my_service" / "core"
    pyproject = tomllib.loads(code["pyproject.toml"])
    dependencies = [re.split(r"[<>=\[ ]", d)[0] for d in pyproject["project"]["dependencies"]]
    importers = sorted(path for path, text in code.items() if _IMPORTS_REDIS.search(text))
    workflow = yaml.safe_load((service / ".github" / "workflows" / "gates.yml").read_text())

    assert ("redis" in dependencies) is redis
    assert (core / "redis_store.py").is_file() is redis
    assert (core / "read_cache.py").is_file(), "both choices serve reads through a read cache"
    assert bool(importers) is redis
    assert all(p.startswith(("src/my_service/core/", "tests/")) for p in importers)
    for job in ("tests", "flake"):
        services = workflow["jobs"][job].get("services", {})
        assert ("redis" in services) is redis, job
    assert "redis" not in workflow["jobs"]["gate"].get("services", {}), "only test jobs need it"
    if (service / "compose.yaml").is_file():
        compose = yaml.safe_load((service / "compose.yaml").read_text())
        assert ("redis" in compose["services"]) is redis
        assert ("REDIS_URL" in compose["services"]["app"]["environment"]) is redis
    if (service / "deploy").is_dir():
        deployment = (service / "deploy" / "kubernetes" / "deployment.yaml").read_text()
        assert ("key: REDIS_URL" in deployment) is redis
    settings = (core / "settings.py").read_text(encoding="utf-8")
    assert ("redis_url" in settings) is redis
    assert "read_cache_ttl_seconds" in settings


def test_deploy_generates_its_files_and_nothing_more(service: Path) -> None:
    deploy = _answers_of(service)["deploy"]
    container = {
        path: (service / path).is_file() for path in ("Dockerfile", ".dockerignore", "compose.yaml")
    }

    assert container == dict.fromkeys(container, deploy != "none")
    assert (service / "deploy").exists() is (deploy == "kubernetes")
    assert (service / "deploy" / "kubernetes" / "kustomization.yaml").is_file() is (
        deploy == "kubernetes"
    )
    if deploy != "kubernetes":
        readme = (service / "README.md").read_text(encoding="utf-8")
        adr = (service / "docs" / "adr" / "0001-service-choices.md").read_text(encoding="utf-8")
        assert "deploy/kubernetes" not in readme + adr
        return
    # Only the SQLite file needs a claim and a single replica; a server database scales out.
    sqlite = _answers_of(service)["database"] == "sqlite"
    kubernetes = service / "deploy" / "kubernetes"
    assert (kubernetes / "persistentvolumeclaim.yaml").is_file() is sqlite
    hpa = yaml.safe_load((kubernetes / "horizontalpodautoscaler.yaml").read_text(encoding="utf-8"))
    assert (hpa["spec"]["maxReplicas"] == 1) is sqlite


def test_graphql_generates_its_stack_and_nothing_more(service: Path) -> None:
    api = _answers_of(service)["api"]
    graphql = "graphql" in api
    code = _code(service)
    package = service / "src" / "my_service"
    pyproject = tomllib.loads(code["pyproject.toml"])
    dependencies = [re.split(r"[<>=\[ ]", d)[0] for d in pyproject["project"]["dependencies"]]
    strawberry = sorted(path for path, text in code.items() if "strawberry" in text)
    main = code["src/my_service/main.py"]

    assert ("strawberry-graphql" in dependencies) is graphql
    assert (package / "core" / "graphql.py").is_file() is graphql
    assert (package / "items" / "api_graphql.py").is_file() is graphql
    assert ("mount_graphql" in main) is graphql
    assert ("items_router" in main) is ("rest" in api)
    assert (package / "items" / "api_rest.py").is_file() is ("rest" in api)
    compat = pyproject["tool"]["gates"]["api-compat"]
    assert compat.get("graphql") == ("api/schema.graphql" if graphql else None)
    assert compat["openapi"] == "api/openapi.json", "the probes and docs are HTTP in every case"
    if not graphql:
        assert strawberry == []
        assert not list(service.rglob("*graphql*"))


_IMPORTS_GRPC = re.compile(r"^\s*(from|import) grpc(_\w+)?\b", flags=re.MULTILINE)


def test_grpc_generates_its_stack_and_nothing_more(service: Path) -> None:
    api = _answers_of(service)["api"]
    grpc = "grpc" in api
    code = _code(service)
    package = service / "src" / "my_service"
    pyproject = tomllib.loads(code["pyproject.toml"])
    requirements = [*pyproject["project"]["dependencies"], *pyproject["dependency-groups"]["dev"]]
    names = {re.split(r"[<>=\[ ]", requirement)[0] for requirement in requirements}
    importers = sorted(path for path, text in code.items() if _IMPORTS_GRPC.search(text))

    if grpc:
        assert {"grpcio", "grpcio-health-checking", "grpcio-reflection", "protobuf"} <= names
        assert {"grpcio-tools", "mypy-protobuf", "types-grpcio"} <= names
        assert "paved-gates[proto]" in requirements
    else:
        assert [name for name in names if "grpc" in name or "protobuf" in name] == []
        assert "paved-gates[proto]" not in requirements
    assert (package / "core" / "grpc").is_dir() is grpc
    assert (package / "items" / "api_grpc.py").is_file() is grpc
    assert (package / "items" / "api_rest.py").is_file() is ("rest" in api)
    assert (service / "proto" / "my_service" / "items" / "v1" / "items.proto").is_file() is grpc
    assert bool(importers) is grpc
    assert all(
        p.startswith(("src/my_service/core/grpc/", "src/my_service/items/", "tests/"))
        for p in importers
    )
    assert ('proto = "proto"' in code["pyproject.toml"]) is grpc
    assert ("grpc_port" in code["src/my_service/core/settings.py"]) is grpc
    if (service / "Dockerfile").is_file():
        assert ("EXPOSE 50051" in (service / "Dockerfile").read_text()) is grpc
        compose = yaml.safe_load((service / "compose.yaml").read_text())
        assert ("127.0.0.1:50051:50051" in compose["services"]["app"]["ports"]) is grpc
    if (service / "deploy").is_dir():
        ports = yaml.safe_load((service / "deploy" / "kubernetes" / "service.yaml").read_text())
        assert ("grpc" in {port["name"] for port in ports["spec"]["ports"]}) is grpc


def _operations_docs(service: Path) -> str:
    """What an operator reads: README, ADR, container and deployment files, runbooks."""
    paths = [service / "README.md", *sorted((service / "docs").rglob("*.md"))]
    paths += [
        service / name for name in ("Dockerfile", "compose.yaml") if (service / name).is_file()
    ]
    paths += sorted((service / "deploy").rglob("*")) + sorted((service / "ops").rglob("*.md"))
    return "\n".join(p.read_text(encoding="utf-8") for p in paths if p.is_file())


def test_auth_generates_its_mechanism_and_nothing_more(service: Path) -> None:
    auth = _answers_of(service)["auth"]
    code = _code(service)
    auth_dir = service / "src" / "my_service" / "core" / "auth"
    dependencies = code["pyproject.toml"].split("[project.scripts]")[0]
    initial = service / "migrations" / "versions" / "0001_initial.py"
    migration = initial.read_text() if initial.is_file() else ""  # database=none has none
    docs = _operations_docs(service)
    mentions = {
        word: sorted(path for path, text in code.items() if word in text)
        for word in ("argon2", "import jwt", "X-API-Key", "core.auth")
    }

    assert auth_dir.is_dir() is (auth != "none")
    for module in ("tokens.py", "passwords.py"):
        assert (auth_dir / module).is_file() is (auth == "jwt")
    assert (auth_dir / "keys.py").is_file() is (auth == "api_key")
    assert (auth_dir / "verifier.py").is_file() is (auth == "oidc")
    assert (auth_dir / "models.py").is_file() is (auth in ("jwt", "api_key"))
    for package in ("argon2-cffi", "pyjwt", "python-multipart"):
        assert (f'"{package}>=' in dependencies) is (auth == "jwt"), package
    assert ('"users"' in migration) is (auth == "jwt")
    assert ('"api_keys"' in migration) is (auth == "api_key")
    assert ("JWT_SECRET" in docs) is (auth == "jwt")
    assert ("ADMIN_API_KEY" in docs) is (auth == "api_key")
    for package in ("pyjwt[crypto]", "httpx2"):
        assert (f'"{package}>=' in dependencies) is (auth == "oidc"), package
    assert ("OIDC_ISSUER" in docs) is (auth == "oidc")
    assert (service / "tests" / "identity_provider.py").is_file() is (auth == "oidc")
    if auth != "jwt":
        assert mentions["argon2"] == []
        assert "/v1/auth/token" not in docs
    if auth not in ("jwt", "oidc"):
        assert mentions["import jwt"] == []
    if auth != "api_key":
        assert mentions["X-API-Key"] == []
    if auth == "none":
        assert mentions["core.auth"] == []
        assert not (service / "tests" / "integration" / "test_auth_api.py").exists()
    access_tests = (service / "tests" / "integration" / "test_access_control.py").read_text()
    assert ("no_route_declares_security" in access_tests) is (auth == "none")


# A pairwise cover, generated and checked as a team would

RESULT_KEYS = {"gate", "status", "metrics", "thresholds", "findings", "duration_s", "gates_version"}


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.parametrize(
    "answers",
    [
        pytest.param(a, marks=pytest.mark.xdist_group(f"service-{_name(a)}"), id=_name(a))
        for a in COVER
    ],
)
def test_service_passes_types_tests_and_gates(answers: dict[str, Any], tmp_path: Path) -> None:
    root = render(tmp_path / "my-service", answers)
    assert run(["git", "status", "--porcelain"], root).stdout == "", "the first commit holds all"
    assert (root / "uv.lock").is_file()
    paths = json.loads((root / "api" / "openapi.json").read_text())["paths"]
    assert ("/v1/items" in paths) is ("rest" in answers["api"])
    assert (root / "api" / "schema.graphql").is_file() is ("graphql" in answers["api"])

    run(["uv", "run", "--frozen", "mypy", "--strict"], root)
    # `make gates` runs the service's own suite (the tests gate), then reruns it (flake).
    # Two reruns show an order-dependent test; the default service (tests/test_service.py)
    # keeps the generated five, and tests/test_gates_flake.py proves the gate on real flakes.
    # The deps gate asks a local OSV service over the PyPA advisory snapshot, as air-gapped.
    # The base is the first commit, so patch coverage and api-compat decide rather than skip.
    with serve() as osv:
        env = service_env(GATES_OSV_URL=osv.url, GATES_BASE="HEAD", GATES_FLAKE_RUNS="2")
        proc = run(["make", "gates"], root, env=env, check=False, timeout=GATES_TIMEOUT_SECONDS)

    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    enabled = re.search(r"^enabled = (\[.*\])$", pyproject, flags=re.MULTILINE)
    assert enabled is not None
    for gate in json.loads(enabled.group(1)):
        result = json.loads((root / "gate-results" / f"{gate}.json").read_text())
        assert result.keys() >= RESULT_KEYS
        assert result["status"] == "passed", gate
    suite = json.loads((root / "gate-results" / "tests.json").read_text())["metrics"]
    assert suite["passed"] > 0
    assert suite["failed"] == suite["errors"] == 0
