"""The item, as the business sees it; no web framework or database here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["NAME_MAX_LENGTH", "Item", "ItemChanges"]

NAME_MAX_LENGTH = 200


@dataclass(frozen=True, kw_only=True)
class Item:
    """Something a user owns. ``version`` grows by one on every change."""

    id: str
    owner_id: str
    name: str
    description: str
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class ItemChanges:
    """Fields to change; ``None`` leaves a field as it is."""

    name: str | None = None
    description: str | None = None
