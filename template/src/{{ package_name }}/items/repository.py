"""Queries of the items feature; callers own the transaction."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import State

from ..core.db import Database, after_commit
from ..core.read_cache import ReadCache
from .domain import Item
from .models import ItemRecord

__all__ = ["CachedItemRepository", "ItemRepository", "SqlItemRepository", "open_repository"]


class ItemRepository(Protocol):
    """Storage of items, always scoped to one owner."""

    async def add(self, item: Item) -> None:
        """Insert a new item."""
        ...

    async def get(self, *, owner_id: str, item_id: str) -> Item | None:
        """Return the owner's item, if any."""
        ...

    async def list_page(
        self, *, owner_id: str, after: tuple[datetime, str] | None, limit: int
    ) -> list[Item]:
        """Return up to ``limit`` items ordered by ``(created_at, id)``, after ``after``."""
        ...

    async def update(self, item: Item, *, expected_version: int) -> bool:
        """Store ``item`` if the stored version is ``expected_version``; return whether it was."""
        ...

    async def delete(self, *, owner_id: str, item_id: str) -> bool:
        """Delete the owner's item; return whether it existed."""
        ...


def _to_domain(record: ItemRecord) -> Item:
    return Item(
        id=record.id,
        owner_id=record.owner_id,
        name=record.name,
        description=record.description,
        version=record.version,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


class SqlItemRepository:
    """Items in the service's SQL database."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, item: Item) -> None:
        """Insert a new item."""
        self._session.add(
            ItemRecord(
                id=item.id,
                owner_id=item.owner_id,
                name=item.name,
                description=item.description,
                version=item.version,
                created_at=item.created_at,
                updated_at=item.updated_at,
            )
        )
        await self._session.flush()

    async def get(self, *, owner_id: str, item_id: str) -> Item | None:
        """Return the owner's item, if any."""
        result = await self._session.execute(
            select(ItemRecord).where(ItemRecord.id == item_id, ItemRecord.owner_id == owner_id)
        )
        record = result.scalar_one_or_none()
        return None if record is None else _to_domain(record)

    async def list_page(
        self, *, owner_id: str, after: tuple[datetime, str] | None, limit: int
    ) -> list[Item]:
        """Return one page with a keyset query (no OFFSET: stable and fast at any depth)."""
        query = select(ItemRecord).where(ItemRecord.owner_id == owner_id)
        if after is not None:
            created_at, item_id = after
            query = query.where(
                or_(
                    ItemRecord.created_at > created_at,
                    and_(ItemRecord.created_at == created_at, ItemRecord.id > item_id),
                )
            )
        query = query.order_by(ItemRecord.created_at, ItemRecord.id).limit(limit)
        result = await self._session.execute(query)
        return [_to_domain(record) for record in result.scalars()]

    async def update(self, item: Item, *, expected_version: int) -> bool:
        """Compare-and-set on ``version``: a concurrent writer makes this return ``False``."""
        result = await self._session.execute(
            update(ItemRecord)
            .where(
                ItemRecord.id == item.id,
                ItemRecord.owner_id == item.owner_id,
                ItemRecord.version == expected_version,
            )
            .values(
                name=item.name,
                description=item.description,
                version=item.version,
                updated_at=item.updated_at,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def delete(self, *, owner_id: str, item_id: str) -> bool:
        """Delete the owner's item; return whether it existed."""
        result = await self._session.execute(
            delete(ItemRecord).where(ItemRecord.id == item_id, ItemRecord.owner_id == owner_id)
        )
        return bool(getattr(result, "rowcount", 0))


def _encode(items: list[Item]) -> bytes:
    return json.dumps([asdict(item) for item in items], default=datetime.isoformat).encode()


def _decode(value: bytes) -> list[Item]:
    fields: list[dict[str, Any]] = json.loads(value)
    return [
        Item(
            **{
                **item,
                "created_at": datetime.fromisoformat(item["created_at"]),
                "updated_at": datetime.fromisoformat(item["updated_at"]),
            }
        )
        for item in fields
    ]


class CachedItemRepository:
    """Reads from the read cache first, writes to ``inner``; every write invalidates.

    Each owner's items are one cache namespace: a write invalidates all of the owner's
    cached reads (items and pages) once it commits, through ``after_commit``. After its
    first write this repository reads through to ``inner`` and caches nothing, since its
    transaction then holds data that is not committed yet.
    """

    def __init__(
        self,
        inner: ItemRepository,
        *,
        cache: ReadCache,
        after_commit: Callable[[Callable[[], Awaitable[None]]], None],
    ) -> None:
        self._inner = inner
        self._cache = cache
        self._after_commit = after_commit
        self._wrote = False

    async def _cached(
        self, owner_id: str, key: str, load: Callable[[], Awaitable[list[Item]]]
    ) -> list[Item]:
        if self._wrote:
            return await load()
        namespace = f"items:{owner_id}"
        lookup = await self._cache.get(namespace, key)
        if lookup.value is not None:
            return _decode(lookup.value)
        items = await load()
        await self._cache.set(namespace, key, _encode(items), generation=lookup.generation)
        return items

    def _written(self, owner_id: str) -> None:
        self._wrote = True

        async def invalidate() -> None:
            await self._cache.invalidate(f"items:{owner_id}")

        self._after_commit(invalidate)

    async def add(self, item: Item) -> None:
        """Insert a new item."""
        self._written(item.owner_id)
        await self._inner.add(item)

    async def get(self, *, owner_id: str, item_id: str) -> Item | None:
        """Return the owner's item, if any; a miss is cached too, until the owner's next write."""

        async def load() -> list[Item]:
            item = await self._inner.get(owner_id=owner_id, item_id=item_id)
            return [] if item is None else [item]

        items = await self._cached(owner_id, f"item:{item_id}", load)
        return items[0] if items else None

    async def list_page(
        self, *, owner_id: str, after: tuple[datetime, str] | None, limit: int
    ) -> list[Item]:
        """Return one page of the owner's items."""
        position = "start" if after is None else f"{after[0].isoformat()}/{after[1]}"

        async def load() -> list[Item]:
            return await self._inner.list_page(owner_id=owner_id, after=after, limit=limit)

        return await self._cached(owner_id, f"page:{position}:{limit}", load)

    async def update(self, item: Item, *, expected_version: int) -> bool:
        """Store ``item`` if the stored version is ``expected_version``."""
        self._written(item.owner_id)
        return await self._inner.update(item, expected_version=expected_version)

    async def delete(self, *, owner_id: str, item_id: str) -> bool:
        """Delete the owner's item; return whether it existed."""
        self._written(owner_id)
        return await self._inner.delete(owner_id=owner_id, item_id=item_id)


@asynccontextmanager
async def open_repository(state: State) -> AsyncIterator[ItemRepository]:
    """The items repository in a transaction of its own, behind the read cache.

    For transports without FastAPI's dependencies (GraphQL, gRPC): the transaction commits on
    a clean exit, and the owner's cached reads are invalidated once it has committed.
    """
    database: Database = state.database
    async with database.transaction() as session:
        yield CachedItemRepository(
            SqlItemRepository(session),
            cache=state.read_cache,
            after_commit=partial(after_commit, session),
        )
