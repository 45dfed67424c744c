"""The default service, generated and used as a team would: sync, lint, types, tests, gates, run.

Full tier (`-m ''`): each test drives real toolchains in a freshly generated service.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests._template import GATES_TIMEOUT_SECONDS, make_run, render, run, service_env
from tests.osv_server import serve

pytestmark = [
    pytest.mark.slow,
    pytest.mark.long,
    pytest.mark.filterwarnings("ignore::copier.errors.DirtyLocalWarning"),
]

RESULT_KEYS = {"gate", "status", "metrics", "thresholds", "findings", "duration_s", "gates_version"}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("svc") / "my-service")


def test_copy_leaves_a_first_commit_with_lock_and_api_document(service: Path) -> None:
    assert (service / "uv.lock").is_file()
    document = json.loads((service / "api" / "openapi.json").read_text())
    assert "/v1/items" in document["paths"]
    log = run(["git", "log", "--format=%s"], service).stdout.splitlines()
    assert len(log) == 1
    assert log[0].startswith("Start my-service from paved ")
    assert run(["git", "status", "--porcelain"], service).stdout == ""
    tracked = run(["git", "ls-files"], service).stdout.split()
    assert {"uv.lock", "api/openapi.json", ".copier-answers.yml"} <= set(tracked)


def test_format_lint_and_types_pass_with_no_change(service: Path) -> None:
    run(["uv", "run", "--frozen", "ruff", "format", "--check", "."], service)
    run(["uv", "run", "--frozen", "ruff", "check", "."], service)
    run(["uv", "run", "--frozen", "mypy", "--strict"], service)
    # Given a path, mypy discovers files itself: the vendored gates package stays out.
    run(["uv", "run", "--frozen", "mypy", "--strict", "."], service)


def test_make_test_runs_the_services_own_suite(service: Path) -> None:
    proc = run(["make", "test"], service)

    summary = proc.stdout.strip().splitlines()[-1]
    assert " passed" in summary
    assert "failed" not in summary
    for tier in ("unit", "integration", "e2e"):
        assert list((service / "tests" / tier).glob("test_*.py")), f"no {tier} tests"


ALL_GATES = ("lint", "tests", "coverage", "migrations", "deps", "flake", "api-compat")


def test_gates_all_passes_and_writes_results(service: Path) -> None:
    # The deps gate asks a local OSV service over the PyPA advisory snapshot, as air-gapped;
    # the base is the first commit, so patch coverage and api-compat decide rather than skip.
    with serve() as osv:
        env = service_env(GATES_OSV_URL=osv.url, GATES_BASE="HEAD")
        proc = run(["make", "gates"], service, env=env, check=False, timeout=GATES_TIMEOUT_SECONDS)

    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    results = service / "gate-results"
    for gate in ALL_GATES:
        result = json.loads((results / f"{gate}.json").read_text())
        assert result.keys() >= RESULT_KEYS
        assert result["status"] == "passed"
        assert all(isinstance(v, int | float) for v in result["metrics"].values())
        assert (results / f"{gate}.md").is_file()
    assert "Passed" in proc.stderr + proc.stdout


@pytest.fixture
def running(service: Path) -> Iterator[str]:
    """`make run` with no server anywhere, as the README's quick start does."""
    env = {"ADMIN_EMAIL": "admin@example.com", "ADMIN_PASSWORD": "quick-start-pass-1"}
    with make_run(service, **env) as base:
        yield base


def test_make_run_serves_the_quick_start(running: str) -> None:
    with httpx.Client(base_url=running, timeout=10) as http:
        assert http.get("/readyz").status_code == 200
        assert "http_requests_total" in http.get("/metrics").text
        spec = http.get("/openapi.json").json()
        flows = [s.get("flows", {}) for s in spec["components"]["securitySchemes"].values()]
        assert any("password" in f and f["password"]["tokenUrl"] for f in flows)

        anonymous = http.get("/v1/items")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"].startswith("application/problem+json")

        token = http.post(
            "/v1/auth/token",
            data={"username": "admin@example.com", "password": "quick-start-pass-1"},
        )
        assert token.status_code == 200, token.text
        auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
        created = http.post("/v1/items", json={"name": "first"}, headers=auth)
        assert created.status_code == 201, created.text
        fetched = http.get(created.headers["location"], headers=auth)
        assert fetched.status_code == 200
        assert fetched.headers["etag"] == created.headers["etag"]
