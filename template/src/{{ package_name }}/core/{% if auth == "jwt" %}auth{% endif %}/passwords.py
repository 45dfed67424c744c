"""Password hashing with argon2id; hashes made with older parameters are upgraded on login.

A hash costs about 0.2 s of a core and 64 MiB. Request handlers use the ``*_in_thread``
methods: the work runs in worker threads (argon2 releases the GIL), a bounded number at once,
so a burst of logins queues there instead of stalling the event loop and every other request.
A sign-in takes a ``turn`` first: past the hashes running and a short queue, it is shed at
once with 503 rather than left to wait longer than its client will.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property

from anyio import CapacityLimiter, to_thread
from argon2 import PasswordHasher as _Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..errors import ServiceUnavailableError

__all__ = ["HashingOverloadedError", "PasswordHasher"]


class HashingOverloadedError(ServiceUnavailableError):
    """Every hashing slot and every place in its queue is taken: retry shortly (503)."""

    code = "overloaded"


class PasswordHasher:
    """Hash and verify passwords with argon2id (the library's RFC 9106 defaults).

    ``concurrency`` bounds the hashes computed at once by the ``*_in_thread`` methods;
    ``queue`` bounds the turns waiting for one of them (``turn``).
    """

    def __init__(
        self, hasher: _Argon2Hasher | None = None, *, concurrency: int = 2, queue: int = 8
    ) -> None:
        self._hasher = hasher or _Argon2Hasher()
        self._threads = CapacityLimiter(concurrency)
        self._turns = concurrency + queue
        self._taken = 0

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold one of the places hashing or queued for the block, or refuse at once.

        Raises:
            HashingOverloadedError: Every place is taken (before any work is done).
        """
        if self._taken >= self._turns:
            raise HashingOverloadedError("Too many sign-ins at once; retry shortly")
        self._taken += 1
        try:
            yield
        finally:
            self._taken -= 1

    def hash(self, password: str) -> str:
        """Return the encoded argon2id hash of ``password``, with its parameters and salt."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches ``password_hash``."""
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    @cached_property
    def _dummy_hash(self) -> str:
        return self._hasher.hash("a password nobody has")

    def verify_nobody(self, password: str) -> None:
        """Spend the time of a verification when the user does not exist (no timing oracle)."""
        self.verify(self._dummy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether ``password_hash`` was made with other parameters than the current ones."""
        return self._hasher.check_needs_rehash(password_hash)

    async def hash_in_thread(self, password: str) -> str:
        """``hash``, off the event loop."""
        return await to_thread.run_sync(self.hash, password, limiter=self._threads)

    async def verify_in_thread(self, password_hash: str, password: str) -> bool:
        """``verify``, off the event loop."""
        return await to_thread.run_sync(self.verify, password_hash, password, limiter=self._threads)

    async def verify_nobody_in_thread(self, password: str) -> None:
        """``verify_nobody``, off the event loop."""
        await to_thread.run_sync(self.verify_nobody, password, limiter=self._threads)
