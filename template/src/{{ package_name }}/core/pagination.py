"""Cursor pagination: opaque cursors over a stable sort key, and bounded page sizes."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from fastapi import Query

from .errors import ValidationFailedError

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "CursorParam",
    "InvalidCursorError",
    "LimitParam",
    "decode_cursor",
    "encode_cursor",
]

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class InvalidCursorError(ValidationFailedError):
    """The cursor was not produced by this service or has been tampered with."""

    code = "invalid_cursor"


def encode_cursor(position: dict[str, Any]) -> str:
    """Encode the position after the last item of a page as an opaque, URL-safe string."""
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    """Decode a cursor from ``encode_cursor``; raise ``InvalidCursorError`` otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursorError("The cursor is not valid") from exc
    if not isinstance(position, dict):
        raise InvalidCursorError("The cursor is not valid")
    return position


LimitParam = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description="Maximum number of items in the page")
]
CursorParam = Annotated[
    str | None,
    Query(max_length=512, description="The `next_cursor` of the previous page"),
]
