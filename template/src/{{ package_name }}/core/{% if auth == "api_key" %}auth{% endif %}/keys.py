"""API key material: ``sk_<id>_<secret>``, stored as the SHA-256 hash of the whole key.

The id is public (it names the key in logs and in the management API) and finds the record;
the secret is 256 random bits, so a fast hash is enough and the comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

__all__ = ["KEY_PREFIX", "ParsedKey", "fingerprint", "hash_key", "matches", "new_key", "parse_key"]

KEY_PREFIX = "sk"
_FORMAT = re.compile(r"^sk_(?P<id>[A-Za-z0-9]{1,32})_(?P<secret>[A-Za-z0-9_-]{32,128})$")


@dataclass(frozen=True)
class ParsedKey:
    """A presented key, split into its id and the whole key."""

    key_id: str
    key: str


def new_key() -> ParsedKey:
    """Return a new random key: 64 bits of id and 256 bits of secret."""
    key_id = secrets.token_hex(8)
    return ParsedKey(key_id=key_id, key=f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}")


def parse_key(key: str) -> ParsedKey | None:
    """Split a presented key, or return ``None`` if it is not in the key format."""
    match = _FORMAT.match(key)
    return ParsedKey(key_id=match["id"], key=key) if match else None


def hash_key(key: str) -> str:
    """Return the hex SHA-256 of ``key``: what the database stores."""
    return hashlib.sha256(key.encode()).hexdigest()


def matches(key: str, key_hash: str) -> bool:
    """Whether ``key`` hashes to ``key_hash``, compared in constant time."""
    return hmac.compare_digest(hash_key(key), key_hash)


def fingerprint(key: str | None) -> str | None:
    """Identify the holder of ``key`` without keeping it (scopes idempotency keys)."""
    return f"key:{hash_key(key)}" if key else None
