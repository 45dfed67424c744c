"""The baseline of the throughput benchmark: a bare FastAPI app doing a service's queries.

No auth, middleware, tracing, logs or metrics: FastAPI and pydantic, uvicorn, and asyncpg or
aiosqlite running the statements a generated service's items feature runs (`items` table,
one owner). It runs in the generated service's own environment (same FastAPI, uvicorn and
drivers), as `python -m uvicorn bare_app:app --app-dir benchmarks --workers N`.

    BARE_DATABASE=postgresql://postgres@127.0.0.1:5432/db   (or a SQLite file path)
    BARE_OWNER_ID=<the user id whose items it serves>
"""

# Rows and statement parameters are the drivers' own untyped values.
# ruff: noqa: ANN401

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel, Field

_FIELDS = ("id", "name", "description", "version", "created_at", "updated_at")
_GET = "SELECT id, name, description, version, created_at, updated_at FROM items"
_DATABASE = os.environ.get("BARE_DATABASE", "")
_OWNER = os.environ.get("BARE_OWNER_ID", "")
_POSTGRES = _DATABASE.startswith("postgresql://")


class ItemCreate(BaseModel):
    """A new item."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)


def _row(row: Any) -> dict[str, Any]:
    item = dict(zip(_FIELDS, row, strict=True))
    for key in ("created_at", "updated_at"):
        value = item[key]
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        item[key] = value.replace(tzinfo=UTC).isoformat()
    return item


def _numbered(sql: str) -> str:
    """Turn `?` placeholders into asyncpg's `$1`, `$2`..."""
    parts = sql.split("?")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))


class _Postgres:
    def __init__(self) -> None:
        import asyncpg  # noqa: PLC0415 - only the driver the run uses is installed

        self._asyncpg = asyncpg
        self.pool: Any = None

    async def open(self) -> None:
        self.pool = await self._asyncpg.create_pool(_DATABASE, min_size=10, max_size=10)

    async def close(self) -> None:
        await self.pool.close()

    async def one(self, sql: str, *args: Any) -> Any:
        return await self.pool.fetchrow(_numbered(sql), *args)

    async def many(self, sql: str, *args: Any) -> list[Any]:
        return list(await self.pool.fetch(_numbered(sql), *args))

    async def insert(self, sql: str, *args: Any) -> None:
        await self.pool.execute(_numbered(sql), *args)


class _Sqlite:
    def __init__(self) -> None:
        import aiosqlite  # noqa: PLC0415 - only the driver the run uses is installed

        self._aiosqlite = aiosqlite
        self.connection: Any = None
        # One connection serves every request: without the lock, concurrent creates would
        # share a transaction and one commit, where a service commits each on its own.
        self._write = asyncio.Lock()

    async def open(self) -> None:
        self.connection = await self._aiosqlite.connect(_DATABASE, timeout=5)
        await self.connection.execute("PRAGMA journal_mode=WAL")

    async def close(self) -> None:
        await self.connection.close()

    async def one(self, sql: str, *args: Any) -> Any:
        async with self.connection.execute(sql, args) as cursor:
            return await cursor.fetchone()

    async def many(self, sql: str, *args: Any) -> list[Any]:
        async with self.connection.execute(sql, args) as cursor:
            return list(await cursor.fetchall())

    async def insert(self, sql: str, *args: Any) -> None:
        async with self._write:
            await self.connection.execute(sql, args)
            await self.connection.commit()


_db: _Postgres | _Sqlite = _Postgres() if _POSTGRES else _Sqlite()


@asynccontextmanager
async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
    await _db.open()
    yield
    await _db.close()


app = FastAPI(lifespan=_lifespan)


@app.get("/healthz")
async def health() -> dict[str, str]:
    """Liveness."""
    return {"status": "ok"}


@app.get("/v1/items/{item_id}")
async def get_item(item_id: str) -> dict[str, Any]:
    """One item of the owner."""
    row = await _db.one(_GET + " WHERE id = ? AND owner_id = ?", item_id, _OWNER)
    if row is None:
        raise HTTPException(status_code=404)
    return _row(row)


@app.get("/v1/items")
async def list_items(limit: int = 20) -> dict[str, Any]:
    """The owner's first page, oldest first (one more row fetched to know if a next exists)."""
    rows = await _db.many(
        _GET + " WHERE owner_id = ? ORDER BY created_at, id LIMIT ?",
        _OWNER,
        limit + 1,
    )
    return {"items": [_row(row) for row in rows[:limit]], "next_cursor": None}


@app.post("/v1/items", status_code=201)
async def create_item(body: ItemCreate, request: Request) -> dict[str, Any]:
    """Insert an item of the owner."""
    now = datetime.now(UTC)
    stored = now.replace(tzinfo=None)
    item_id = str(uuid.uuid4())
    await _db.insert(
        "INSERT INTO items (id, owner_id, name, description, version, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        item_id,
        _OWNER,
        body.name,
        body.description,
        1,
        stored if _POSTGRES else stored.isoformat(sep=" "),
        stored if _POSTGRES else stored.isoformat(sep=" "),
    )
    return {
        "id": item_id,
        "name": body.name,
        "description": body.description,
        "version": 1,
        "created_at": now.isoformat(),
        "updated_at": now.isoformat(),
    }
