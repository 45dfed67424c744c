"""The option matrix: every offered combination renders clean; a pairwise cover runs its checks.

Fast tier: every combination of the questions that offer more than one choice renders with no
Jinja left, formats and lints clean, and generates exactly the parts its answers choose.
Full tier (`-m ''`): a set of combinations in which every pair of option values appears at
least once is generated as a user would, and passes mypy, its own tests and `gates all`.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests._template import ROOT, render, run, service_env, unrendered
from tests.osv_server import serve

pytestmark = pytest.mark.filterwarnings("ignore::copier.errors.DirtyLocalWarning")

_CONFIG: dict[str, Any] = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
#: ruff of this repo's venv, run on the rendered tree with the rendered configuration.
_ROOT_ENV = dict(os.environ)


def _choices(question: Mapping[str, Any]) -> list[Any]:
    choices = question.get("choices", [])
    values = list(choices.values()) if isinstance(choices, dict) else list(choices)
    # A multi-select question varies one choice at a time: each value alone is an answer.
    return [[value] for value in values] if question.get("multiselect") else values


def option_factors() -> dict[str, list[Any]]:
    """The questions of copier.yml that offer more than one choice, with their values."""
    return {
        key: _choices(question)
        for key, question in _CONFIG.items()
        if not key.startswith("_")
        and isinstance(question, dict)
        and question.get("when") is not False
        and len(_choices(question)) > 1
    }


_Pair = tuple[int, int, int, int]  # (factor, value, later factor, value), all by index


def _pair(f: int, v: int, g: int, w: int) -> _Pair:
    return (f, v, g, w) if f < g else (g, w, f, v)


def pairwise_cover(factors: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Combinations in which every pair of values of two different factors appears at least once.

    Greedy and deterministic: each row starts from the first pair not yet covered and gives
    every other factor the value that covers the most uncovered pairs (the first on a tie).
    With two factors this is every combination; with more it is far fewer than all of them.
    With fewer than two factors there are no pairs: every value still appears once.
    """
    names = list(factors)
    sizes = [len(factors[name]) for name in names]
    if len(names) < 2:
        return [
            dict(zip(names, combo, strict=True)) for combo in itertools.product(*factors.values())
        ]
    uncovered = {
        (f, v, g, w)
        for f, g in itertools.combinations(range(len(names)), 2)
        for v in range(sizes[f])
        for w in range(sizes[g])
    }
    rows: list[dict[str, Any]] = []
    while uncovered:
        f, v, g, w = min(uncovered)
        row = {f: v, g: w}
        for factor in range(len(names)):
            if factor not in row:
                gains = [
                    sum(
                        _pair(other, chosen, factor, value) in uncovered
                        for other, chosen in row.items()
                    )
                    for value in range(sizes[factor])
                ]
                row[factor] = gains.index(max(gains))
        uncovered -= {_pair(f, row[f], g, row[g]) for f, g in itertools.combinations(row, 2)}
        rows.append({name: factors[name][row[index]] for index, name in enumerate(names)})
    return rows


def _covered_pairs(rows: Sequence[Mapping[str, Any]]) -> set[tuple[str, str, str, str]]:
    return {
        (a, json.dumps(row[a]), b, json.dumps(row[b]))
        for row in rows
        for a, b in itertools.combinations(sorted(row), 2)
    }


def _all_pairs(factors: Mapping[str, Sequence[Any]]) -> set[tuple[str, str, str, str]]:
    return {
        (a, json.dumps(x), b, json.dumps(y))
        for a, b in itertools.combinations(sorted(factors), 2)
        for x in factors[a]
        for y in factors[b]
    }


FACTORS = option_factors()
DEFAULTS = {key: _CONFIG[key]["default"] for key in FACTORS}


def offered(answers: Mapping[str, Any]) -> bool:
    """Whether copier.yml offers ``answers`` (its validators refuse auth=api_key without rest)."""
    return not (answers["auth"] == "api_key" and "rest" not in answers["api"])


COMBINATIONS = [
    answers
    for answers in (
        dict(zip(FACTORS, combo, strict=True)) for combo in itertools.product(*FACTORS.values())
    )
    if offered(answers)
]
#: The default combination is generated and checked in full by tests/test_service.py.
#: A refused row is split in two offered ones that keep its other pairs.
COVER = [
    variant
    for row in pairwise_cover(FACTORS)
    for variant in ([row] if offered(row) else [{**row, "auth": "jwt"}, {**row, "api": ["rest"]}])
    if variant != DEFAULTS
]


def _name(answers: Mapping[str, Any]) -> str:
    return "-".join(
        "+".join(value) if isinstance(value, list) else str(value) for value in answers.values()
    )


# The cover


def test_the_matrix_varies_observability_and_deploy():
    assert FACTORS["observability"] == ["otel", "prometheus", "logs"]
    assert FACTORS["deploy"] == ["kubernetes", "compose", "none"]
    assert FACTORS["database"] == ["sqlite", "postgresql", "mysql"]


def test_the_matrix_varies_the_cache():
    assert FACTORS["cache"] == ["none", "redis"]


def test_the_matrix_varies_auth():
    assert FACTORS["auth"] == ["jwt", "api_key", "none"]


def test_the_matrix_varies_the_api_styles_one_at_a_time():
    assert ["rest"] in FACTORS["api"]
    assert ["grpc"] in FACTORS["api"]


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
def test_pairwise_cover_contains_every_pair(factors: dict[str, list[Any]]):
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


def test_pairwise_cover_of_fewer_than_two_factors_lists_each_value():
    assert pairwise_cover({"a": [1, 2, 3]}) == [{"a": 1}, {"a": 2}, {"a": 3}]
    assert pairwise_cover({}) == [{}]


def test_slow_tier_covers_every_pair_with_the_default_service():
    refused = {("api", json.dumps(["grpc"]), "auth", json.dumps("api_key"))}
    assert _covered_pairs([*COVER, DEFAULTS]) >= _all_pairs(FACTORS) - refused
    assert DEFAULTS not in COVER


# Every combination, rendered


@pytest.fixture(scope="module", params=COMBINATIONS, ids=_name)
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp(_name(request.param)), request.param, tasks=False)


def _answers(service: Path) -> dict[str, Any]:
    answers: dict[str, Any] = yaml.safe_load((service / ".copier-answers.yml").read_text())
    return answers


def test_no_unrendered_jinja(service: Path):
    assert unrendered(service) == []


def test_python_is_formatted_and_lint_clean(service: Path):
    run(["ruff", "format", "--check", "--no-cache", "."], service, env=_ROOT_ENV)
    run(["ruff", "check", "--no-cache", "."], service, env=_ROOT_ENV)


def _code(service: Path) -> dict[str, str]:
    """The dependency list and every source and test module, by path."""
    paths = [service / "pyproject.toml", *sorted((service / "src").rglob("*.py"))]
    paths += sorted((service / "tests").rglob("*.py"))
    return {str(p.relative_to(service)): p.read_text(encoding="utf-8") for p in paths}


def test_observability_generates_its_stack_and_nothing_more(service: Path):
    observability = _answers(service)["observability"]
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


def test_database_generates_its_driver_and_nothing_of_the_others(service: Path):
    database = _answers(service)["database"]
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


def test_cache_generates_redis_and_nothing_more(service: Path):
    answers = _answers(service)
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


def test_deploy_generates_its_files_and_nothing_more(service: Path):
    deploy = _answers(service)["deploy"]
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


_IMPORTS_GRPC = re.compile(r"^\s*(from|import) grpc(_\w+)?\b", flags=re.MULTILINE)


def test_grpc_generates_its_stack_and_nothing_more(service: Path):
    api = _answers(service)["api"]
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


def test_auth_generates_its_mechanism_and_nothing_more(service: Path):
    auth = _answers(service)["auth"]
    code = _code(service)
    auth_dir = service / "src" / "my_service" / "core" / "auth"
    dependencies = code["pyproject.toml"].split("[project.scripts]")[0]
    migration = (service / "migrations" / "versions" / "0001_initial.py").read_text()
    docs = _operations_docs(service)
    mentions = {
        word: sorted(path for path, text in code.items() if word in text)
        for word in ("argon2", "import jwt", "X-API-Key", "core.auth")
    }

    assert auth_dir.is_dir() is (auth != "none")
    for module in ("tokens.py", "passwords.py"):
        assert (auth_dir / module).is_file() is (auth == "jwt")
    assert (auth_dir / "keys.py").is_file() is (auth == "api_key")
    for package in ("argon2-cffi", "pyjwt", "python-multipart"):
        assert (f'"{package}>=' in dependencies) is (auth == "jwt"), package
    assert ('"users"' in migration) is (auth == "jwt")
    assert ('"api_keys"' in migration) is (auth == "api_key")
    assert ("JWT_SECRET" in docs) is (auth == "jwt")
    assert ("ADMIN_API_KEY" in docs) is (auth == "api_key")
    if auth != "jwt":
        assert mentions["argon2"] == mentions["import jwt"] == []
        assert "/v1/auth/token" not in docs
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
@pytest.mark.parametrize("answers", COVER, ids=_name)
def test_service_passes_types_tests_and_gates(answers: dict[str, Any], tmp_path: Path):
    root = render(tmp_path / "my-service", answers)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-q", "-m", "Start my-service from paved"], root)
    assert (root / "uv.lock").is_file()
    paths = json.loads((root / "api" / "openapi.json").read_text())["paths"]
    assert ("/v1/items" in paths) is ("rest" in answers["api"])

    run(["uv", "run", "--frozen", "mypy", "--strict"], root)
    summary = run(["make", "test"], root).stdout.strip().splitlines()[-1]
    assert " passed" in summary
    assert "failed" not in summary
    # The deps gate asks a local OSV service over the PyPA advisory snapshot, as air-gapped.
    with serve() as osv:
        proc = run(["make", "gates"], root, env=service_env(GATES_OSV_URL=osv.url), check=False)

    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    enabled = re.search(r"^enabled = (\[.*\])$", pyproject, flags=re.MULTILINE)
    assert enabled is not None
    for gate in json.loads(enabled.group(1)):
        result = json.loads((root / "gate-results" / f"{gate}.json").read_text())
        assert result.keys() >= RESULT_KEYS
        assert result["status"] == "passed", gate
