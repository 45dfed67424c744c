"""The authenticated caller, as every feature sees it, and the scopes its token grants."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["Principal", "scopes_of"]


@dataclass(frozen=True, kw_only=True)
class Principal:
    """The subject of a valid access token (its ``sub``), with the token's scopes."""

    id: str
    scopes: frozenset[str]

    def missing(self, required: Iterable[str]) -> list[str]:
        """The scopes of ``required`` this caller lacks."""
        return [scope for scope in required if scope not in self.scopes]


def scopes_of(claims: Mapping[str, object]) -> frozenset[str]:
    """The scopes a token grants: ``scope`` (RFC 9068, space-separated) and ``scp``.

    Providers differ: ``scp`` is a list at some, a space-separated string at others. Values
    of any other type grant nothing.
    """
    found: set[str] = set()
    for claim in ("scope", "scp"):
        value = claims.get(claim)
        if isinstance(value, str):
            found.update(value.split())
        elif isinstance(value, list):
            found.update(item for item in value if isinstance(item, str) and item)
    return frozenset(found)
