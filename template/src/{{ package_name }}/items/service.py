"""Use cases of the items feature; every function is keyword-only and transport-agnostic."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import datetime

from ..core.clock import utcnow
from ..core.pagination import InvalidCursorError, decode_cursor, encode_cursor
from .domain import Item, ItemChanges
from .errors import ItemNotFoundError, ItemVersionMismatchError
from .repository import ItemRepository

__all__ = [
    "ItemPageResult",
    "create_item",
    "delete_item",
    "get_item",
    "get_items",
    "list_items",
    "update_item",
]


@dataclass(frozen=True, kw_only=True)
class ItemPageResult:
    """One page of items and the cursor of the next page (``None`` on the last page)."""

    items: list[Item]
    next_cursor: str | None


async def create_item(
    *, repository: ItemRepository, owner_id: str, name: str, description: str = ""
) -> Item:
    """Create an item owned by ``owner_id``."""
    now = utcnow()
    item = Item(
        id=str(uuid.uuid4()),
        owner_id=owner_id,
        name=name,
        description=description,
        version=1,
        created_at=now,
        updated_at=now,
    )
    await repository.add(item)
    return item


async def get_item(*, repository: ItemRepository, owner_id: str, item_id: str) -> Item:
    """Return the owner's item.

    Raises:
        ItemNotFoundError: No such item, or it belongs to someone else.
    """
    item = await repository.get(owner_id=owner_id, item_id=item_id)
    if item is None:
        raise ItemNotFoundError(item_id)
    return item


async def get_items(
    *, repository: ItemRepository, owner_id: str, item_ids: Sequence[str]
) -> list[Item | None]:
    """Return the owner's items for ``item_ids``, in their order; ``None`` where there is none.

    One query for the whole batch: the GraphQL dataloaders call this instead of ``get_item``
    once per id.
    """
    found = {
        item.id: item for item in await repository.get_many(owner_id=owner_id, item_ids=item_ids)
    }
    return [found.get(item_id) for item_id in item_ids]


def _decode_position(cursor: str) -> tuple[datetime, str]:
    position = decode_cursor(cursor)
    try:
        created_at, item_id = datetime.fromisoformat(position["created_at"]), position["id"]
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidCursorError("The cursor is not valid") from exc
    # Positions this service wrote carry an aware timestamp and a string id; anything else
    # could only fail in the database.
    if created_at.tzinfo is None or not isinstance(item_id, str):
        raise InvalidCursorError("The cursor is not valid")
    return created_at, item_id


async def list_items(
    *, repository: ItemRepository, owner_id: str, limit: int, cursor: str | None = None
) -> ItemPageResult:
    """Return the owner's items, oldest first, one page at a time.

    Raises:
        InvalidCursorError: ``cursor`` is not one this service returned.
    """
    after = None if cursor is None else _decode_position(cursor)
    items = await repository.list_page(owner_id=owner_id, after=after, limit=limit + 1)
    if len(items) <= limit:
        return ItemPageResult(items=items, next_cursor=None)
    last = items[limit - 1]
    next_cursor = encode_cursor({"created_at": last.created_at.isoformat(), "id": last.id})
    return ItemPageResult(items=items[:limit], next_cursor=next_cursor)


async def update_item(
    *,
    repository: ItemRepository,
    owner_id: str,
    item_id: str,
    changes: ItemChanges,
    expected_versions: AbstractSet[int] | None,
) -> Item:
    """Apply ``changes`` if the item is at one of ``expected_versions`` (``None``: any).

    Changes that leave every field as it is change nothing: the item comes back at its
    version (so its ETag stays valid) and nothing is written.

    Raises:
        ItemNotFoundError: No such item for this owner.
        ItemVersionMismatchError: The item is at another version, or changed concurrently.
    """
    item = await get_item(repository=repository, owner_id=owner_id, item_id=item_id)
    if expected_versions is not None and item.version not in expected_versions:
        raise ItemVersionMismatchError(item_id)
    name = item.name if changes.name is None else changes.name
    description = item.description if changes.description is None else changes.description
    if (name, description) == (item.name, item.description):
        return item
    updated = replace(
        item, name=name, description=description, version=item.version + 1, updated_at=utcnow()
    )
    if not await repository.update(updated, expected_version=item.version):
        raise ItemVersionMismatchError(item_id)
    return updated


async def delete_item(
    *,
    repository: ItemRepository,
    owner_id: str,
    item_id: str,
    expected_versions: AbstractSet[int] | None,
) -> None:
    """Delete the owner's item if it is at one of ``expected_versions`` (``None``: any).

    Raises:
        ItemNotFoundError: No such item for this owner.
        ItemVersionMismatchError: The item is at another version.
    """
    item = await get_item(repository=repository, owner_id=owner_id, item_id=item_id)
    if expected_versions is not None and item.version not in expected_versions:
        raise ItemVersionMismatchError(item_id)
    await repository.delete(owner_id=owner_id, item_id=item_id)
