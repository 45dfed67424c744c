"""API key use cases: authenticate, create, rotate, revoke, and the first administrator's key."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ..db import utcnow
from ..errors import ConflictError, NotFoundError
from .domain import ADMIN_SCOPE, MANAGE_SCOPE, ApiKey, Principal
from .keys import ParsedKey, hash_key, matches, new_key, parse_key
from .models import ApiKeyRecord
from .repository import ApiKeyRepository

__all__ = ["ApiKeyService", "IssuedKey"]

logger = logging.getLogger(__name__)

ADMIN_OWNER = "admin"


@dataclass(frozen=True, kw_only=True)
class IssuedKey:
    """A new key: ``key`` is shown to the caller once and never again."""

    key: str
    metadata: ApiKey


def _domain(record: ApiKeyRecord) -> ApiKey:
    return ApiKey(
        id=record.id,
        owner=record.owner,
        name=record.name,
        scopes=tuple(record.scopes.split()),
        created_at=record.created_at,
        expires_at=record.expires_at,
        revoked_at=record.revoked_at,
    )


def _record(
    key: ParsedKey, *, owner: str, name: str, scopes: Sequence[str], expires_at: datetime | None
) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=key.key_id,
        owner=owner,
        name=name,
        scopes=" ".join(sorted(set(scopes))),
        key_hash=hash_key(key.key),
        created_at=utcnow(),
        expires_at=expires_at,
    )


def _is_active(record: ApiKeyRecord, now: datetime) -> bool:
    return record.revoked_at is None and (record.expires_at is None or record.expires_at > now)


class ApiKeyService:
    """API key use cases; every method runs in the caller's transaction."""

    async def authenticate(self, *, session: AsyncSession, key: str) -> Principal | None:
        """Return the owner of ``key`` with its scopes, or ``None`` for any invalid key.

        Unknown, malformed, wrong, expired and revoked keys look the same to the caller.
        """
        parsed = parse_key(key)
        if parsed is None:
            return None
        record = await ApiKeyRepository(session).get(parsed.key_id)
        if record is None or not matches(parsed.key, record.key_hash):
            return None
        if not _is_active(record, utcnow()):
            return None
        return Principal(id=record.owner, key_id=record.id, scopes=frozenset(record.scopes.split()))

    async def create(
        self,
        *,
        session: AsyncSession,
        owner: str,
        name: str,
        scopes: Sequence[str],
        ttl_seconds: int | None = None,
    ) -> IssuedKey:
        """Create a key for ``owner``; it expires after ``ttl_seconds`` if given."""
        issued = new_key()
        expires_at = utcnow() + timedelta(seconds=ttl_seconds) if ttl_seconds else None
        record = await ApiKeyRepository(session).add(
            _record(issued, owner=owner, name=name, scopes=scopes, expires_at=expires_at)
        )
        logger.info("api key created", extra={"key_id": record.id, "owner": owner})
        return IssuedKey(key=issued.key, metadata=_domain(record))

    async def rotate(
        self, *, session: AsyncSession, key_id: str, grace_seconds: int, ttl_seconds: int | None
    ) -> IssuedKey:
        """Issue a successor of an active key; the old one expires after ``grace_seconds``.

        Both work during the grace period, so clients switch without downtime.

        Raises:
            NotFoundError: No key ``key_id``.
            ConflictError: The key is already revoked or expired.
        """
        record = await self._get(session, key_id)
        now = utcnow()
        if not _is_active(record, now):
            raise ConflictError("Only an active API key can be rotated")
        deadline = now + timedelta(seconds=grace_seconds)
        if record.expires_at is None or record.expires_at > deadline:
            record.expires_at = deadline
        return await self.create(
            session=session,
            owner=record.owner,
            name=record.name,
            scopes=record.scopes.split(),
            ttl_seconds=ttl_seconds,
        )

    async def revoke(self, *, session: AsyncSession, key_id: str) -> None:
        """Revoke a key at once; revoking it again changes nothing.

        Raises:
            NotFoundError: No key ``key_id``.
        """
        record = await self._get(session, key_id)
        if record.revoked_at is None:
            record.revoked_at = utcnow()
            logger.info("api key revoked", extra={"key_id": key_id})

    async def list_keys(self, *, session: AsyncSession, owner: str) -> list[ApiKey]:
        """Return ``owner``'s keys, active or not, oldest first."""
        return [_domain(record) for record in await ApiKeyRepository(session).list_for_owner(owner)]

    async def ensure_admin(self, *, session: AsyncSession, key: str) -> bool:
        """Store the administrator's key unless its id exists; return whether it was stored.

        A key is never replaced from the environment: to change the administrator's key, give
        the new one a new id (and revoke the old one through the API).

        Raises:
            ValueError: ``key`` is not in the key format.
        """
        parsed = parse_key(key)
        if parsed is None:
            raise ValueError("ADMIN_API_KEY must look like sk_<id>_<secret of 32+ characters>")
        existing = await ApiKeyRepository(session).get(parsed.key_id)
        if existing is not None:
            if not matches(parsed.key, existing.key_hash):
                logger.warning(
                    "ADMIN_API_KEY names an existing key with another secret; it is not replaced",
                    extra={"key_id": parsed.key_id},
                )
            return False
        await ApiKeyRepository(session).add(
            _record(
                parsed,
                owner=ADMIN_OWNER,
                name="first administrator",
                scopes=[ADMIN_SCOPE, MANAGE_SCOPE],
                expires_at=None,
            )
        )
        logger.info("administrator api key created", extra={"key_id": parsed.key_id})
        return True

    async def _get(self, session: AsyncSession, key_id: str) -> ApiKeyRecord:
        record = await ApiKeyRepository(session).get(key_id)
        if record is None:
            raise NotFoundError("No such API key")
        return record
