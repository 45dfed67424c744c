"""Queries of the items feature; callers own the transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .domain import Item
from .models import ItemRecord

__all__ = ["ItemRepository", "SqlItemRepository"]


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
