"""Gate `migrations` on database servers: a scratch database of its own, created and dropped."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from paved_gates import _scratch_database
from paved_gates._cli import main
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests._gates import run_gate
from tests.test_gates_migrations import ALEMBIC_INI, INITIAL, MODELS

# Each test runs Alembic five times against a real server: the full tier.
pytestmark = pytest.mark.slow

#: The local servers (CI and laptops point these elsewhere), each at its administration database.
SERVERS = {
    "postgresql": os.environ.get(
        "TEST_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    ),
    "mysql": os.environ.get("TEST_MYSQL_URL", "mysql+aiomysql://root@127.0.0.1:3306/"),
}
LIST_DATABASES = {
    "postgresql": "SELECT datname FROM pg_database",
    "mysql": "SHOW DATABASES",
}

ENV_PY = """\
import asyncio
import os

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from models import metadata


def run(connection):
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


async def main():
    engine = create_async_engine(os.environ["DATABASE_URL"])
    async with engine.connect() as connection:
        await connection.run_sync(run)
        await connection.commit()
    await engine.dispose()


asyncio.run(main())
"""


def _pyproject(scratch_url: str, extra: str = "") -> str:
    return (
        '[tool.gates]\nenabled = ["migrations"]\n\n[tool.gates.migrations]\n'
        f'scratch-url = "{scratch_url}"\n{extra}'
    )


def _scratch_databases(dialect: str) -> set[str]:
    async def names() -> set[str]:
        engine = create_async_engine(SERVERS[dialect])
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(text(LIST_DATABASES[dialect]))
                return {name for (name,) in rows if name.startswith("migrations_scratch_")}
        finally:
            await engine.dispose()

    return asyncio.run(names())


@pytest.fixture(params=sorted(SERVERS))
def dialect(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dialect: str) -> Path:
    files = {
        "pyproject.toml": _pyproject(SERVERS[dialect]),
        "alembic.ini": ALEMBIC_INI,
        "models.py": MODELS,
        "migrations/env.py": ENV_PY,
        "migrations/script.py.mako": "",
        "migrations/versions/0001_initial.py": INITIAL,
    }
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # env.py imports the project's models
    return tmp_path


@pytest.fixture
def scratch(monkeypatch: pytest.MonkeyPatch) -> str:
    """The name the gate gives its scratch database in this test.

    Other gate runs may create and drop scratch databases on the same server meanwhile, so
    the tests follow this one name rather than the server's whole list.
    """
    name = _scratch_database.scratch_name()
    monkeypatch.setattr(_scratch_database, "scratch_name", lambda: name)
    return name


def test_round_trip_runs_on_a_scratch_database_that_is_dropped_after(
    project: Path, dialect: str, scratch: str
) -> None:
    code, result = run_gate("migrations", project)

    assert code == 0
    assert result["metrics"] == {"heads": 1.0, "in_sync": 1.0, "round_trip": 1.0}
    assert scratch not in _scratch_databases(dialect)


def test_model_change_without_a_migration_fails_on_the_server(project: Path) -> None:
    models = project / "models.py"
    models.write_text(
        models.read_text().replace("String(80))", 'String(80)), Column("price", Integer)')
    )

    code, result = run_gate("migrations", project)

    assert code == 1
    (finding,) = result["findings"]
    assert finding["id"] == "models-out-of-sync"
    assert "price" in finding["message"]


def test_a_failing_round_trip_still_drops_the_scratch_database(
    project: Path, dialect: str, scratch: str
) -> None:
    initial = project / "migrations" / "versions" / "0001_initial.py"
    initial.write_text(initial.read_text().replace('op.drop_table("items")', "pass"))

    code, result = run_gate("migrations", project)

    assert code == 1
    (finding,) = result["findings"]
    assert finding["id"] == "upgrade-head-again-failed"
    assert scratch not in _scratch_databases(dialect)


def test_the_environment_variable_points_the_gate_at_another_server(
    project: Path, dialect: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    unreachable = SERVERS[dialect].replace("127.0.0.1:", "127.0.0.1:1")  # no server listens
    (project / "pyproject.toml").write_text(
        _pyproject(unreachable, 'scratch-url-env = "CI_DATABASE_URL"\n')
    )

    assert main(["migrations"]) == 3  # the configured server does not answer

    monkeypatch.setenv("CI_DATABASE_URL", SERVERS[dialect])
    assert main(["migrations"]) == 0


def test_a_password_never_reaches_the_report(project: Path, dialect: str) -> None:
    with_password = SERVERS[dialect].replace("@", ":hunter2-secret@")
    (project / "pyproject.toml").write_text(_pyproject(with_password))

    main(["migrations"])  # the local servers trust loopback: the password may go unused

    texts = [p.read_text() for p in (project / "gate-results").iterdir() if p.is_file()]
    assert texts
    assert not any("hunter2-secret" in t for t in texts)


@pytest.mark.parametrize(
    ("url", "message"),
    [("oracle://scott@127.0.0.1/orcl", "no scratch databases on 'oracle'")],
)
def test_a_server_without_scratch_databases_is_a_configuration_error(
    project: Path, url: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pyproject.toml").write_text(_pyproject(url))

    assert main(["migrations"]) == 2
    assert message in capsys.readouterr().err
