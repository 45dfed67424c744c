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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends, Request

from .single_flight import SingleFlight

__all__ = [
    "CacheLookup",
    "InMemoryReadCache",
    "ReadCache",
    "ReadCacheDep",
    "get_read_cache",
    "read_through",
]


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


#: Bytes of the Python objects around a cached value (dict slot, entry, key tuple and strings).
_ENTRY_OVERHEAD = 400


class InMemoryReadCache:
    """A least-recently-used TTL cache in this process; correct for one process.

    Bounded by ``max_entries`` and by ``max_bytes`` (an estimate of what the entries hold): a
    page of long items weighs more than a missing item, and the bound holds either way.
    """

    def __init__(
        self,
        *,
        ttl_seconds: float,
        max_entries: int = 10_000,
        max_bytes: int = 16 * 1024 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0
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
        self._forget((namespace, key))
        self._values[namespace, key] = _Entry(generation, self._clock() + self._ttl, value)
        self._bytes += _size(namespace, key, value)
        while len(self._values) > self._max_entries or self._bytes > self._max_bytes:
            self._forget(next(iter(self._values)))

    @property
    def size_bytes(self) -> int:
        """The estimated bytes held by the cached values."""
        return self._bytes

    def _forget(self, slot: tuple[str, str]) -> None:
        entry = self._values.pop(slot, None)
        if entry is not None:
            self._bytes -= _size(*slot, entry.value)

    async def invalidate(self, namespace: str) -> None:
        """Give ``namespace`` a generation no lookup has seen yet."""
        self._last_generation += 1
        self._generations[namespace] = self._last_generation
        self._generations.move_to_end(namespace)
        while len(self._generations) > self._max_entries:
            _, evicted = self._generations.popitem(last=False)
            self._floor = max(self._floor, evicted)


#: Loads running in this process, by cache, namespace, key and generation.
_loads: SingleFlight[bytes] = SingleFlight()


async def read_through(
    cache: ReadCache, namespace: str, key: str, load: Callable[[], Awaitable[bytes]]
) -> bytes:
    """Return the cached value of ``key``, or ``load`` it and offer it to the cache.

    Concurrent misses of one key share one ``load``: when a popular value expires, one
    request reads it and the others wait for that read instead of each making their own.
    """
    lookup = await cache.get(namespace, key)
    if lookup.value is not None:
        return lookup.value

    async def fill() -> bytes:
        # A lookup that awaits the network (Redis) may have missed just before another
        # request's load filled the cache and its flight ended: look again before loading.
        again = await cache.get(namespace, key)
        if again.value is not None:
            return again.value
        value = await load()
        await cache.set(namespace, key, value, generation=lookup.generation)
        return value

    return await _loads.share((id(cache), namespace, key, lookup.generation), fill)


def _size(namespace: str, key: str, value: bytes) -> int:
    return _ENTRY_OVERHEAD + len(namespace) + len(key) + len(value)


async def get_read_cache(request: Request) -> ReadCache:
    """Return the application's read cache."""
    cache: ReadCache = request.app.state.read_cache
    return cache


#: The application's read cache, for a feature's repository.
ReadCacheDep = Annotated[ReadCache, Depends(get_read_cache)]
