"""Queries of the auth module; callers own the transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import RefreshTokenRecord, UserRecord

__all__ = ["RefreshTokenRepository", "UserRepository"]


class UserRepository:
    """Users, by id or email."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, user_id: str) -> UserRecord | None:
        """Return the user with ``user_id``, if any."""
        return await self._session.get(UserRecord, user_id)

    async def get_by_email(self, email: str) -> UserRecord | None:
        """Return the user with ``email`` (compared case-insensitively), if any."""
        result = await self._session.execute(
            select(UserRecord).where(UserRecord.email == email.lower())
        )
        return result.scalar_one_or_none()

    async def add(self, user: UserRecord) -> UserRecord:
        """Insert ``user``."""
        user.email = user.email.lower()
        self._session.add(user)
        await self._session.flush()
        return user


class RefreshTokenRepository:
    """Refresh tokens, looked up by hash."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get_by_hash(self, token_hash: str) -> RefreshTokenRecord | None:
        """Return the token whose hash is ``token_hash``, if any."""
        result = await self._session.execute(
            select(RefreshTokenRecord).where(RefreshTokenRecord.token_hash == token_hash)
        )
        return result.scalar_one_or_none()

    async def add(self, token: RefreshTokenRecord) -> None:
        """Insert ``token``."""
        self._session.add(token)
        await self._session.flush()

    async def mark_used(self, token_id: str, *, at: datetime) -> bool:
        """Mark an unused token used; return ``False`` if it was already used (a replay)."""
        result = await self._session.execute(
            update(RefreshTokenRecord)
            .where(RefreshTokenRecord.id == token_id, RefreshTokenRecord.used_at.is_(None))
            .values(used_at=at)
        )
        return bool(getattr(result, "rowcount", 0))

    async def revoke_family(self, family_id: str, *, at: datetime) -> None:
        """Revoke every token of a family: after a replay, the whole chain is suspect."""
        await self._session.execute(
            update(RefreshTokenRecord)
            .where(
                RefreshTokenRecord.family_id == family_id, RefreshTokenRecord.revoked_at.is_(None)
            )
            .values(revoked_at=at)
        )
