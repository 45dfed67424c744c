"""The authenticated caller and the API keys it holds, as every feature sees them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["ADMIN_SCOPE", "MANAGE_SCOPE", "ApiKey", "Principal"]

#: Grants every scope: the first administrator's key has it.
ADMIN_SCOPE = "admin"
#: Create, list, rotate and revoke API keys.
MANAGE_SCOPE = "keys:manage"


@dataclass(frozen=True, kw_only=True)
class Principal:
    """The owner of a valid API key, with the key's scopes."""

    id: str
    key_id: str
    scopes: frozenset[str]

    def missing(self, required: list[str]) -> list[str]:
        """The scopes of ``required`` this caller lacks; none for an administrator."""
        if ADMIN_SCOPE in self.scopes:
            return []
        return [scope for scope in required if scope not in self.scopes]


@dataclass(frozen=True, kw_only=True)
class ApiKey:
    """An API key's metadata; the key itself is shown once and never stored."""

    id: str
    owner: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
