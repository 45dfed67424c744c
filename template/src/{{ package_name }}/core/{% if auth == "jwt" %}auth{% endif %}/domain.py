"""The authenticated caller, as every feature sees it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Principal"]


@dataclass(frozen=True, kw_only=True)
class Principal:
    """A signed-in, active user."""

    id: str
    email: str
    is_admin: bool
