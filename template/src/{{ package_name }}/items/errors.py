"""Errors of the items feature."""

from __future__ import annotations

from ..core.errors import NotFoundError, PreconditionFailedError

__all__ = ["ItemNotFoundError", "ItemVersionMismatchError"]


class ItemNotFoundError(NotFoundError):
    """No item with this id belongs to the caller."""

    code = "item_not_found"

    def __init__(self, item_id: str) -> None:
        super().__init__(f"Item {item_id} not found")


class ItemVersionMismatchError(PreconditionFailedError):
    """The item changed since the version the caller based its change on."""

    code = "item_version_mismatch"

    def __init__(self, item_id: str) -> None:
        super().__init__(f"Item {item_id} has changed; fetch it again and retry")
