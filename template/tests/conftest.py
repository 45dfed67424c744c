"""Fixtures shared by every test tier; markers follow the folder a test lives in."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from alembic import command
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI
from fastapi.testclient import TestClient

from .support import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Serve,
    alembic_config,
    build_test_app,
    login,
    serve_on,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test ``unit``, ``integration`` or ``e2e`` after its folder."""
    for item in items:
        for tier in ("unit", "integration", "e2e"):
            if tier in item.path.parts:
                item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture
def anyio_backend() -> str:
    """Run ``@pytest.mark.anyio`` tests on asyncio, as the service does."""
    return "asyncio"


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file migrated to the latest revision once per run, copied by each test."""
    path = tmp_path_factory.mktemp("migrated") / "service.db"
    command.upgrade(alembic_config(f"sqlite+aiosqlite:///{path}"), "head")
    return path


@pytest.fixture
def database_url(migrated_database: Path, tmp_path: Path) -> str:
    """A fresh SQLite database file of this test's own, at the latest revision."""
    path = tmp_path / "service.db"
    shutil.copyfile(migrated_database, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def app(database_url: str) -> FastAPI:
    """The application on a fresh, migrated database, with an administrator."""
    return build_test_app(database_url)


@pytest.fixture(scope="session")
def portal() -> Iterator[BlockingPortal]:
    """The event loop thread that serves every test client of the run."""
    with start_blocking_portal("asyncio") as blocking_portal:
        yield blocking_portal


@pytest.fixture
def serve(portal: BlockingPortal) -> Serve:
    """``with serve(app) as client``: a test client for ``app``, with its lifespan running."""
    return partial(serve_on, portal)


@pytest.fixture
def client(app: FastAPI, serve: Serve) -> Iterator[TestClient]:
    """An HTTP client for ``app``, with its lifespan running."""
    with serve(app) as test_client:
        yield test_client


@pytest.fixture
def admin_headers(client: TestClient) -> dict[str, str]:
    """The administrator's ``Authorization`` header."""
    return login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
