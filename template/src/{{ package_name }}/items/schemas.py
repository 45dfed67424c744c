"""Request and response bodies of the items API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from .domain import NAME_MAX_LENGTH, Item

__all__ = ["ItemCreate", "ItemPage", "ItemPublic", "ItemUpdate"]


class ItemCreate(BaseModel):
    """A new item (also the full representation a ``PUT`` replaces it with)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=NAME_MAX_LENGTH)
    description: str = Field(default="", max_length=10_000)


class ItemUpdate(BaseModel):
    """A partial change; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=NAME_MAX_LENGTH)
    description: str | None = Field(default=None, max_length=10_000)


class ItemPublic(BaseModel):
    """An item as clients see it."""

    id: str
    name: str
    description: str
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_domain(cls, item: Item) -> ItemPublic:
        """Build the public view of ``item``."""
        return cls(
            id=item.id,
            name=item.name,
            description=item.description,
            version=item.version,
            created_at=item.created_at,
            updated_at=item.updated_at,
        )


class ItemPage(BaseModel):
    """One page of items; pass ``next_cursor`` as ``cursor`` to get the next one."""

    items: list[ItemPublic]
    next_cursor: str | None
