"""Scratch databases of the migrations gate: a SQLite file, or a database of its own on a server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ._errors import ConfigError, ToolError

__all__ = ["displayed", "scratch_database", "sqlite_file"]

#: How each server creates and drops a database (names are generated, never user input).
_STATEMENTS = {
    "postgresql": ("CREATE DATABASE {name}", "DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    "mysql": (
        "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        "DROP DATABASE IF EXISTS {name}",
    ),
}
_STATEMENTS["mariadb"] = _STATEMENTS["mysql"]


@contextmanager
def scratch_database(url: str, *, key: str) -> Iterator[str]:
    """Yield the URL of an empty scratch database; remove the database on exit.

    A SQLite URL names the scratch file itself, removed before and after. A server URL
    (PostgreSQL, MySQL or MariaDB) names the server and the database to administer it from:
    a database with a unique name is created there, so parallel runs never share one.

    Raises:
        ConfigError: the URL is neither SQLite nor a supported server (`key` names the setting).
        ToolError: the server refused to create the scratch database.
    """
    scratch = sqlite_file(url)
    if scratch is not None:
        scratch.unlink(missing_ok=True)
        try:
            yield url
        finally:
            scratch.unlink(missing_ok=True)
        return

    # SQLAlchemy comes with Alembic, which the gate drives: only imported for server URLs.
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    server = make_url(url)
    backend = server.get_backend_name()
    if backend not in _STATEMENTS:
        raise ConfigError(
            key=key, message=f"no scratch databases on {backend!r}: use SQLite, PostgreSQL or MySQL"
        )
    name = scratch_name()
    create, drop = (statement.format(name=name) for statement in _STATEMENTS[backend])
    try:
        _execute(url, create)
    except Exception as exc:  # any driver error: no scratch database
        raise ToolError(tool=backend, message=f"cannot create the scratch database: {exc}") from exc
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        _execute(url, drop)


def scratch_name() -> str:
    """A database name no other run picks: gates may run in parallel against one server."""
    return f"migrations_scratch_{uuid.uuid4().hex}"


def displayed(url: str) -> str:
    """The URL as a report may show it: a server's password masked."""
    if sqlite_file(url) is not None:
        return url
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    return make_url(url).render_as_string(hide_password=True)


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL (removed before and after the run), else None."""
    prefix, sep, path = url.partition(":///")
    if sep and prefix.split("+")[0] == "sqlite" and path and path != ":memory:":
        return Path(path)
    return None


def _execute(url: str, statement: str) -> None:
    """Run one statement outside a transaction, as CREATE and DROP DATABASE need."""
    from sqlalchemy import create_engine, text  # noqa: PLC0415
    from sqlalchemy.engine import make_url  # noqa: PLC0415
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

    if not make_url(url).get_dialect().is_async:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()
        return

    async def run() -> None:
        async_engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        try:
            async with async_engine.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await async_engine.dispose()

    asyncio.run(run())
