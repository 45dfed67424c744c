"""The identity provider's signing keys, cached by ``kid`` with a TTL and a refetch limit.

Keys are fetched once, reused until the TTL passes, and fetched again early only when a token
names a ``kid`` the cache lacks (the provider rotated its keys). Every fetch after the first is
at least ``min_refetch_seconds`` after the previous attempt, so a flood of tokens with made-up
``kid`` values, or an unreachable provider, costs the provider one request per interval.
Concurrent callers share one fetch. When a fetch fails the cached keys keep serving.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from jwt import PyJWK, PyJWTError

from ..errors import ServiceUnavailableError

__all__ = [
    "IdentityProviderError",
    "IdentityProviderUnavailableError",
    "JwksCache",
    "PublicKey",
    "parse_jwks",
]

logger = logging.getLogger(__name__)


class IdentityProviderError(Exception):
    """The identity provider's discovery document or key set could not be read."""


class IdentityProviderUnavailableError(ServiceUnavailableError):
    """No signing key is known and the identity provider cannot be reached."""

    code = "identity_provider_unavailable"


@dataclass(frozen=True, kw_only=True)
class PublicKey:
    """A verification key of the provider; ``algorithm`` is set when the JWK pins one."""

    kid: str
    key: PyJWK
    algorithm: str | None


def parse_jwks(document: object) -> dict[str, PublicKey]:
    """The signature keys of a JWK Set, by ``kid``.

    Keys without a ``kid``, encryption keys (``use: enc``), symmetric keys and keys of a type
    PyJWT cannot load are skipped: a provider may publish keys this service never uses.

    Raises:
        IdentityProviderError: The document is not a JWK Set, or holds no usable key.
    """
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise IdentityProviderError("the JWKS document has no 'keys' list")
    keys: dict[str, PublicKey] = {}
    for entry in entries:
        key = _public_key(entry)
        if key is not None:
            keys[key.kid] = key
    if not keys:
        raise IdentityProviderError("the JWKS document holds no usable signature key")
    return keys


def _public_key(entry: object) -> PublicKey | None:
    if not isinstance(entry, dict):
        return None
    kid, algorithm = entry.get("kid"), entry.get("alg")
    if not isinstance(kid, str) or entry.get("use", "sig") != "sig" or entry.get("kty") == "oct":
        return None
    try:
        key = PyJWK.from_dict(entry)
    except PyJWTError:
        return None
    return PublicKey(kid=kid, key=key, algorithm=algorithm if isinstance(algorithm, str) else None)


Fetch = Callable[[], Awaitable[Mapping[str, PublicKey]]]


class JwksCache:
    """Signing keys by ``kid``, refreshed after ``ttl_seconds`` or on an unknown ``kid``."""

    _NEVER: ClassVar[float] = -math.inf

    def __init__(
        self,
        fetch: Fetch,
        *,
        ttl_seconds: float,
        min_refetch_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl_seconds
        self._min_refetch = min_refetch_seconds
        self._clock = clock
        self._keys: dict[str, PublicKey] = {}
        self._fetched_at = self._NEVER
        self._attempted_at = self._NEVER
        self._attempts = 0
        self._lock = asyncio.Lock()

    def cached(self, kid: str) -> PublicKey | None:
        """The key ``kid`` if it is cached, even past its TTL; never fetches."""
        return self._keys.get(kid)

    async def key(self, kid: str) -> PublicKey | None:
        """The key ``kid``, fetching the key set if it is stale or lacks ``kid``.

        Raises:
            IdentityProviderUnavailableError: No key is cached and the fetch failed.
        """
        if self._stale() and self._may_fetch():
            await self.refresh()
        key = self._keys.get(kid)
        if key is None and self._may_fetch():
            await self.refresh()
            key = self._keys.get(kid)
        if not self._keys:
            raise IdentityProviderUnavailableError(
                "The identity provider's signing keys are unavailable; retry later",
                headers={"Retry-After": str(max(1, math.ceil(self._min_refetch)))},
            )
        return key

    async def refresh(self) -> bool:
        """Fetch the key set now, unless a concurrent caller just did; return whether it worked."""
        seen = self._attempts
        async with self._lock:
            if self._attempts != seen:
                return bool(self._keys)
            self._attempts += 1
            self._attempted_at = self._clock()
            try:
                keys = await self._fetch()
            except IdentityProviderError as exc:
                logger.warning(
                    "identity provider keys not fetched", extra={"reason": str(exc)[:200]}
                )
                return False
            self._keys = dict(keys)
            self._fetched_at = self._attempted_at
            logger.info("identity provider keys fetched", extra={"kids": sorted(self._keys)})
            return True

    def _stale(self) -> bool:
        return self._clock() - self._fetched_at >= self._ttl

    def _may_fetch(self) -> bool:
        return self._clock() - self._attempted_at >= self._min_refetch
