"""Database access: one async engine per application, sessions in explicit transactions."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, event, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from .settings import CoreSettings

__all__ = [
    "Base",
    "Database",
    "SessionDep",
    "UTCDateTime",
    "after_commit",
    "ensure_sqlite_directory",
    "get_session",
    "import_models",
    "utcnow",
]

#: Constraint names are deterministic, so migrations can drop and alter them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
_AFTER_COMMIT = "after_commit"


class Base(DeclarativeBase):
    """Declarative base of every table; the migrations read its metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def import_models(package: str) -> list[str]:
    """Import every ``models`` module under ``package``, registering its tables on ``Base``.

    Migrations call this, so a new feature's tables are seen without registering them.
    """
    root = importlib.import_module(package)
    found = []
    for module in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        if module.name.rsplit(".", 1)[-1] == "models":
            importlib.import_module(module.name)
            found.append(module.name)
    return found


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalize to naive UTC, which every database stores the same way."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to what the database returns."""
        return None if value is None else value.replace(tzinfo=UTC)


def ensure_sqlite_directory(url: str) -> None:
    """Create the directory of a SQLite database file, so a fresh checkout just runs."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:  # noqa: ANN401
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


class Database:
    """The engine and session factory of one application, built from settings."""

    def __init__(self, settings: CoreSettings) -> None:
        url = make_url(settings.database_url)
        connect_args: dict[str, Any] = {}
        if url.get_backend_name() == "sqlite":
            ensure_sqlite_directory(settings.database_url)
            connect_args["timeout"] = settings.db_connect_timeout_seconds
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            pool_pre_ping=True,
            connect_args=connect_args,
        )
        if url.get_backend_name() == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._readiness_timeout = settings.readiness_timeout_seconds

    async def ping(self) -> None:
        """Run ``SELECT 1``; raise if the database does not answer within the timeout."""
        async with asyncio.timeout(self._readiness_timeout), self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def get_database(request: Request) -> Database:
    """Return the application's database."""
    database: Database = request.app.state.database
    return database


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Yield a session inside a transaction: committed on success, rolled back on error.

    Callbacks registered with ``after_commit`` run once the transaction has committed.
    """
    async with get_database(request).sessions() as session:
        async with session.begin():
            yield session
        for callback in session.info.pop(_AFTER_COMMIT, []):
            await callback()


def after_commit(session: AsyncSession, callback: Callable[[], Awaitable[None]]) -> None:
    """Run ``callback`` after ``session``'s transaction commits (never if it rolls back).

    For effects that must not be seen before the data is, such as invalidating a cache:
    done before the commit, a concurrent read could cache the old data again.
    """
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


#: A session in a transaction that commits before the response is sent.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
