"""Queries of the API keys; callers own the transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import ApiKeyRecord

__all__ = ["ApiKeyRepository"]


class ApiKeyRepository:
    """API keys, by id or owner."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, key_id: str) -> ApiKeyRecord | None:
        """Return the key with ``key_id``, if any."""
        return await self._session.get(ApiKeyRecord, key_id)

    async def list_for_owner(self, owner: str) -> list[ApiKeyRecord]:
        """Return ``owner``'s keys, oldest first."""
        result = await self._session.execute(
            select(ApiKeyRecord)
            .where(ApiKeyRecord.owner == owner)
            .order_by(ApiKeyRecord.created_at, ApiKeyRecord.id)
        )
        return list(result.scalars())

    async def add(self, key: ApiKeyRecord) -> ApiKeyRecord:
        """Insert ``key``."""
        self._session.add(key)
        await self._session.flush()
        return key
