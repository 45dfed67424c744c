"""Login throttling: past a few failures, an account or a client address backs off exponentially.

Attempts are counted before the password is checked, so that guesses sent at once cannot
slip past the count while their hashes run; a refused attempt costs no hashing. A success
gives its attempt back (and clears the account's failures). Accounts are keyed by email
whether or not they exist, so a 429 tells nothing about which ones do.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..errors import TooManyRequestsError
from ..settings import CoreSettings

__all__ = ["AttemptStore", "Backoff", "InMemoryAttemptStore", "LoginAttempt", "LoginThrottle"]

#: Past this many doublings the delay is beyond any cap (and ``2.0**n`` would overflow).
_MAX_DOUBLINGS = 64


@dataclass(frozen=True, kw_only=True)
class Backoff:
    """How long an attempt waits after ``failures`` failures in a row.

    The first ``free_failures`` cost nothing; then ``base_seconds``, doubling with each
    further failure, at most ``max_seconds``.
    """

    free_failures: int
    max_seconds: float
    base_seconds: float = 1.0

    def delay(self, failures: int) -> float:
        """Seconds between the last counted attempt and the next one allowed."""
        if failures < self.free_failures:
            return 0.0
        doublings = min(failures - self.free_failures, _MAX_DOUBLINGS)
        return min(self.max_seconds, self.base_seconds * 2.0**doublings)

    def wait(self, failures: int, *, elapsed: float) -> float:
        """Seconds still to wait, ``elapsed`` seconds after the last counted attempt."""
        return max(0.0, self.delay(failures) - elapsed)

    def forget_after(self, failures: int) -> float:
        """Quiet seconds after which the failures are forgotten: the delay, then the cap."""
        return self.delay(failures) + self.max_seconds


class AttemptStore(Protocol):
    """Counts attempts per key; in process, or shared by the replicas (Redis)."""

    async def attempt(self, key: str, backoff: Backoff) -> float:
        """Count an attempt and return 0, or return the seconds it must wait (not counted)."""
        ...

    async def give_back(self, key: str) -> None:
        """Uncount one attempt: it succeeded, or failed before the password was checked."""
        ...

    async def clear(self, key: str) -> None:
        """Forget every attempt of ``key``."""
        ...


@dataclass(slots=True)
class _Record:
    failures: int
    last: float


class InMemoryAttemptStore:
    """Attempts in this process, at most ``max_entries`` keys (the least recent go first).

    A full table of 100,000 keys takes about 25 MB. With several replicas each keeps its own
    count; a shared store (Redis) makes it global.
    """

    def __init__(
        self, *, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_entries = max_entries
        self._clock = clock
        self._records: dict[str, _Record] = {}  # least recently touched first

    async def attempt(self, key: str, backoff: Backoff) -> float:
        """Count an attempt on ``key`` unless it must wait."""
        now = self._clock()
        record = self._records.pop(key, None)
        if record is None or now - record.last >= backoff.forget_after(record.failures):
            record = _Record(failures=0, last=now)
        wait = backoff.wait(record.failures, elapsed=now - record.last)
        if wait <= 0:
            record.failures += 1
            record.last = now
        self._records[key] = record
        if len(self._records) > self._max_entries:
            del self._records[next(iter(self._records))]
        return wait

    async def give_back(self, key: str) -> None:
        """Uncount one attempt of ``key``."""
        record = self._records.get(key)
        if record is not None:
            record.failures = max(0, record.failures - 1)

    async def clear(self, key: str) -> None:
        """Forget ``key``."""
        self._records.pop(key, None)


@dataclass(frozen=True)
class LoginAttempt:
    """The keys a sign-in attempt was counted under."""

    account: str
    address: str | None


def _account_key(email: str) -> str:
    # Hashed: no email is kept in memory or Redis keys, and every key has one length.
    return "account:" + hashlib.sha256(email.lower().encode()).hexdigest()


class LoginThrottle:
    """Per-account and per-address backoff of sign-ins; the address allows more (NAT)."""

    def __init__(
        self,
        store: AttemptStore | None = None,
        *,
        per_account: Backoff | None = None,
        per_address: Backoff | None = None,
    ) -> None:
        self.store = store or InMemoryAttemptStore()
        self.per_account = per_account or Backoff(free_failures=5, max_seconds=900)
        self.per_address = per_address or Backoff(free_failures=50, max_seconds=900)

    @classmethod
    def from_settings(
        cls, settings: CoreSettings, *, store: AttemptStore | None = None
    ) -> LoginThrottle:
        """Build the throttle from the ``LOGIN_THROTTLE_*`` settings."""
        cap = settings.login_throttle_max_seconds
        return cls(
            store,
            per_account=Backoff(
                free_failures=settings.login_throttle_account_failures, max_seconds=cap
            ),
            per_address=Backoff(
                free_failures=settings.login_throttle_address_failures, max_seconds=cap
            ),
        )

    async def admit(self, *, email: str, address: str | None) -> LoginAttempt:
        """Count a sign-in attempt for ``email`` from ``address`` (if known).

        Raises:
            TooManyRequestsError: The account or the address must wait (429, ``Retry-After``).
        """
        address_key = None if address is None else f"address:{address}"
        attempt = LoginAttempt(_account_key(email), address_key)
        if attempt.address is not None:
            self._refuse_if(await self.store.attempt(attempt.address, self.per_address))
        wait = await self.store.attempt(attempt.account, self.per_account)
        if wait > 0 and attempt.address is not None:
            await self.store.give_back(attempt.address)
        self._refuse_if(wait)
        return attempt

    async def succeeded(self, attempt: LoginAttempt) -> None:
        """Clear the account's failures; the address gets its attempt back."""
        await self.store.clear(attempt.account)
        if attempt.address is not None:
            await self.store.give_back(attempt.address)

    async def abandoned(self, attempt: LoginAttempt) -> None:
        """Give both attempts back: the attempt failed before its password was judged."""
        await self.store.give_back(attempt.account)
        if attempt.address is not None:
            await self.store.give_back(attempt.address)

    @staticmethod
    def _refuse_if(wait: float) -> None:
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise TooManyRequestsError(
                f"Too many failed sign-ins; retry in {retry_after} s",
                headers={"Retry-After": str(retry_after)},
            )
