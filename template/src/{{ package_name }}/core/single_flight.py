"""Concurrent loads of one key share a single call: the first caller's."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["SingleFlight"]

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """Run one call per key at a time in this process; callers that arrive meanwhile share it.

    When a cached value expires under load, every request in flight misses it at once. Each
    would read the database, and with few pooled connections they queue behind one another
    for seconds. With this, one reads and the others wait for its value.

    Only values are shared. When the running call fails or is cancelled, each waiting caller
    makes its own call, so one request's error or cancellation never becomes another's.
    """

    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Future[T]] = {}

    async def share(self, key: Hashable, call: Callable[[], Awaitable[T]]) -> T:
        """Return the value of the call running for ``key``, or of ``call`` if none is."""
        while (running := self._running.get(key)) is not None:
            await asyncio.wait([running])
            if not running.cancelled():
                return running.result()
        running = self._running[key] = asyncio.get_running_loop().create_future()
        try:
            value = await call()
        except BaseException:
            running.cancel()
            raise
        finally:
            del self._running[key]
        running.set_result(value)
        return value
