"""Read cache: feature reads kept for a TTL and invalidated, a namespace at a time, on writes.

Cache-aside: a feature looks a value up, reads its own store on a miss and offers the value
back with ``set``. Every namespace (one owner's items, say) has a generation, and a write
moves it on, which hides every value stored under the previous one. ``get`` returns the
generation it saw and ``set`` stores only while it is still current, so a value read before
a write committed is never stored after the write invalidated it: a cached representation
(and its ETag) is never older than the last invalidation.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends, Request

__all__ = ["CacheLookup", "InMemoryReadCache", "ReadCache", "ReadCacheDep", "get_read_cache"]


@dataclass(frozen=True)
class CacheLookup:
    """What ``ReadCache.get`` found: the value (``None`` on a miss) and the generation seen."""

    value: bytes | None
    generation: int


class ReadCache(Protocol):
    """Values of feature reads, grouped in namespaces that writes invalidate."""

    async def get(self, namespace: str, key: str) -> CacheLookup:
        """Return the value of ``key`` in ``namespace``, if cached, and the generation seen."""
        ...

    async def set(self, namespace: str, key: str, value: bytes, *, generation: int) -> None:
        """Cache ``value`` if ``namespace`` is still at ``generation`` (the lookup's)."""
        ...

    async def invalidate(self, namespace: str) -> None:
        """Move ``namespace`` to a new generation: every value cached in it is gone."""
        ...


@dataclass(frozen=True)
class _Entry:
    generation: int
    expires_at: float
    value: bytes


class InMemoryReadCache:
    """A bounded, least-recently-used TTL cache in this process; correct for one replica."""

    def __init__(
        self,
        *,
        ttl_seconds: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._values: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._generations: OrderedDict[str, int] = OrderedDict()
        self._last_generation = 0
        # Generation of every namespace whose own record was evicted (or never existed):
        # raised to the evicted generation, so a lookup made before it can no longer store.
        self._floor = 0

    def _generation(self, namespace: str) -> int:
        return self._generations.get(namespace, self._floor)

    async def get(self, namespace: str, key: str) -> CacheLookup:
        """Return the cached value, unless it expired or belongs to an older generation."""
        generation = self._generation(namespace)
        entry = self._values.get((namespace, key))
        if entry is None or entry.generation != generation or entry.expires_at <= self._clock():
            return CacheLookup(None, generation)
        self._values.move_to_end((namespace, key))
        return CacheLookup(entry.value, generation)

    async def set(self, namespace: str, key: str, value: bytes, *, generation: int) -> None:
        """Store ``value`` for the TTL, evicting the least recently used entry when full."""
        if generation != self._generation(namespace):
            return
        self._values[namespace, key] = _Entry(generation, self._clock() + self._ttl, value)
        self._values.move_to_end((namespace, key))
        while len(self._values) > self._max_entries:
            self._values.popitem(last=False)

    async def invalidate(self, namespace: str) -> None:
        """Give ``namespace`` a generation no lookup has seen yet."""
        self._last_generation += 1
        self._generations[namespace] = self._last_generation
        self._generations.move_to_end(namespace)
        while len(self._generations) > self._max_entries:
            _, evicted = self._generations.popitem(last=False)
            self._floor = max(self._floor, evicted)


def get_read_cache(request: Request) -> ReadCache:
    """Return the application's read cache."""
    cache: ReadCache = request.app.state.read_cache
    return cache


#: The application's read cache, for a feature's repository.
ReadCacheDep = Annotated[ReadCache, Depends(get_read_cache)]
