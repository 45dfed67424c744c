"""Graceful shutdown: on SIGTERM, drain before the server stops, so no request is reset.

When uvicorn stops it closes its listener and every idle keep-alive connection at once: a
request a client sends on one at that moment is lost. So SIGTERM first begins a drain of
``SHUTDOWN_DRAIN_SECONDS``: the server keeps accepting and serving, readiness answers 503
so load balancers stop sending, and every response carries ``Connection: close`` so
keep-alive clients reconnect elsewhere. Then the signal goes on to uvicorn, whose graceful
shutdown lets in-flight requests finish within ``SHUTDOWN_GRACE_SECONDS``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Drain", "DrainMiddleware", "drain_on_sigterm"]

logger = logging.getLogger(__name__)

SignalHandler = Callable[[int, FrameType | None], Any]


class Drain:
    """Whether the process drains before it stops; the transports read it and follow it.

    Args:
        seconds: How long the drain lasts before the server stops.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._draining = False
        self._on_begin: list[Callable[[], Awaitable[None]]] = []

    @property
    def draining(self) -> bool:
        """Whether the drain has begun."""
        return self._draining

    def on_begin(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Await ``callback`` when the drain begins (another server reporting it is leaving)."""
        self._on_begin.append(callback)

    async def begin(self) -> None:
        """Begin the drain, once: readiness fails from now on, connections are told to close."""
        if self._draining:
            return
        self._draining = True
        logger.info("draining before shutdown", extra={"drain_seconds": self.seconds})
        for callback in self._on_begin:
            await callback()


class DrainMiddleware:
    """While the process drains, every response carries ``Connection: close``.

    Decided when the response starts, so a request in flight when the drain begins also
    tells its client to reconnect elsewhere.
    """

    def __init__(self, app: ASGIApp, *, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add ``Connection: close`` to the response once the drain has begun."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start" and self.drain.draining:
                headers = [*message.get("headers", ()), (b"connection", b"close")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_closing)


class _SigtermDrain:
    """The SIGTERM handler: begin the drain, and hand the signal on once it ends."""

    def __init__(self, drain: Drain, loop: asyncio.AbstractEventLoop, then: SignalHandler) -> None:
        self._drain = drain
        self._loop = loop
        self._then = then
        self._task: asyncio.Task[None] | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """Runs as a signal handler, between two bytecodes: only schedule the drain."""
        self._loop.call_soon_threadsafe(self._start, signum)

    def _start(self, signum: int) -> None:
        # A second SIGTERM (sent to the process group and by uvicorn's supervisor) changes
        # nothing: the drain runs its course once.
        if self._task is None:
            self._task = self._loop.create_task(self._drain_then_stop(signum))

    async def _drain_then_stop(self, signum: int) -> None:
        await self._drain.begin()
        await asyncio.sleep(self._drain.seconds)
        self._then(signum, None)

    def cancel(self) -> None:
        """Forget a drain still running: the server stops for another reason."""
        if self._task is not None:
            self._task.cancel()


@contextmanager
def drain_on_sigterm(drain: Drain) -> Iterator[None]:
    """While open, SIGTERM begins ``drain``, then goes on to the handler it replaced.

    The handler replaced is uvicorn's, which stops the server; SIGINT (Ctrl-C) still stops
    it at once. Only the main thread receives signals, and only a handler of Python's can be
    called later: elsewhere (a test client's thread), this changes nothing.
    """
    previous = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield
        return
    handler = _SigtermDrain(drain, asyncio.get_running_loop(), previous)
    signal.signal(signal.SIGTERM, handler.handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        handler.cancel()
