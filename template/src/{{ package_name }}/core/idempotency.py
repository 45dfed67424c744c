"""Idempotency keys: a retried unsafe request gets the first response instead of a duplicate.

A client sends ``Idempotency-Key`` on ``POST`` or ``PATCH``. The first request with a key runs
and its response is stored; a retry with the same key and body replays that response with
``Idempotent-Replayed: true``; the same key with another body is a 422 problem; a retry while
the first is still running is a 409 problem. Keys are scoped to the caller (the token's
subject) and to the method and path, and expire after a TTL. Server errors are not stored,
so a request that failed with a 5xx can be retried; nor are ``Cache-Control: no-store``
responses, which carry secrets (a new API key) that must not outlive the response.
"""

from __future__ import annotations

import enum
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import ProblemResponse, problem_body

__all__ = [
    "IDEMPOTENCY_KEY_HEADER",
    "IDEMPOTENCY_KEY_PARAMETER",
    "REPLAYED_HEADER",
    "BeginOutcome",
    "IdempotencyMiddleware",
    "IdempotencyStore",
    "InMemoryIdempotencyStore",
    "StoredResponse",
]

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_MAX_KEY_LENGTH = 255
_METHODS = frozenset({"POST", "PATCH"})

#: The header as an OpenAPI parameter, for routes to list (``openapi_extra``): the middleware
#: reads and checks it before FastAPI runs, so no route declares it for FastAPI to parse.
IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": IDEMPOTENCY_KEY_HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": _MAX_KEY_LENGTH},
    "description": "Retrying with the same key replays the first response",
}


@dataclass(frozen=True, kw_only=True)
class StoredResponse:
    """The response recorded for a key: replayed byte for byte."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class BeginOutcome(enum.Enum):
    """What the store says about a key when a request arrives."""

    STARTED = "started"
    IN_FLIGHT = "in_flight"
    MISMATCH = "mismatch"
    COMPLETED = "completed"


@dataclass(frozen=True)
class BeginResult:
    """Outcome of ``IdempotencyStore.begin``; ``response`` is set when ``COMPLETED``."""

    outcome: BeginOutcome
    response: StoredResponse | None = None


class IdempotencyStore(Protocol):
    """Where keys, request fingerprints and responses are kept (in process, Redis...)."""

    async def begin(self, key: str, fingerprint: str, *, ttl_seconds: float) -> BeginResult:
        """Claim ``key`` for a request with ``fingerprint``, or report why not.

        Raises:
            ConnectionError: The store cannot be reached (the request answers 503).
        """
        ...

    async def complete(self, key: str, response: StoredResponse) -> None:
        """Record the response of the request that claimed ``key``."""
        ...

    async def release(self, key: str) -> None:
        """Forget ``key`` so that the request can be retried."""
        ...


#: Bytes of the Python objects around an entry's own data (dict slot, entry, strings' headers),
#: and around each stored header: what ``sys.getsizeof`` adds up to for a typical entry.
_ENTRY_OVERHEAD = 512
_HEADER_OVERHEAD = 130


@dataclass(slots=True)
class _Entry:
    fingerprint: str
    expires_at: float
    size: int
    response: StoredResponse | None = field(default=None)


def _response_size(response: StoredResponse) -> int:
    headers = sum(_HEADER_OVERHEAD + len(name) + len(value) for name, value in response.headers)
    return len(response.body) + headers


class InMemoryIdempotencyStore:
    """Keys in a dict of this process; correct for one process, lost on restart.

    Bounded by ``max_bytes`` (an estimate of what entries hold, responses included) and
    ``max_entries``: past either, the oldest keys are forgotten first, so memory stays within
    the bound however many writes arrive within the TTL.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 100_000,
        max_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self._clock = clock
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._entries: dict[str, _Entry] = {}
        self._bytes = 0

    @property
    def size_bytes(self) -> int:
        """The estimated bytes held by the entries."""
        return self._bytes

    async def begin(self, key: str, fingerprint: str, *, ttl_seconds: float) -> BeginResult:
        """Claim ``key``; an expired entry counts as absent."""
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None and entry.expires_at <= now:
            self._drop(key)
            entry = None
        if entry is None:
            size = _ENTRY_OVERHEAD + 2 * len(key) + len(fingerprint)
            self._entries[key] = _Entry(fingerprint, now + ttl_seconds, size)
            self._bytes += size
            self._evict(now, keep=key)
            return BeginResult(BeginOutcome.STARTED)
        if entry.fingerprint != fingerprint:
            return BeginResult(BeginOutcome.MISMATCH)
        if entry.response is None:
            return BeginResult(BeginOutcome.IN_FLIGHT)
        return BeginResult(BeginOutcome.COMPLETED, entry.response)

    async def complete(self, key: str, response: StoredResponse) -> None:
        """Attach the response to the claimed key."""
        entry = self._entries.get(key)
        if entry is not None:
            entry.response = response
            added = _response_size(response)
            entry.size += added
            self._bytes += added
            self._evict(self._clock(), keep=key)

    async def release(self, key: str) -> None:
        """Drop the key."""
        self._drop(key)

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size

    def _evict(self, now: float, *, keep: str) -> None:
        """Forget expired keys, then the oldest, until within both bounds (never ``keep``)."""
        while self._entries:
            key = next(iter(self._entries))  # the oldest: dicts keep insertion order
            entry = self._entries[key]
            over = len(self._entries) > self._max_entries or self._bytes > self._max_bytes
            if key == keep or (not over and entry.expires_at > now):
                break
            self._drop(key)


def _fingerprint(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope["query_string"]):
        digest.update(part)
        digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()


class IdempotencyMiddleware:
    """Apply ``Idempotency-Key`` semantics to ``POST`` and ``PATCH`` requests.

    Args:
        app: The application to wrap.
        store: Where keys and responses are kept.
        ttl_seconds: How long a key is remembered.
        principal: Returns the caller's identity from the ``Authorization`` header, or
            ``None`` when the request is not authenticated (then the key is ignored and the
            application answers 401 as usual). Without it (a service with no
            authentication), keys are scoped by client address.
        credential_header: The header ``principal`` reads, if not ``Authorization``.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: IdempotencyStore,
        ttl_seconds: float,
        principal: Callable[[str | None], str | None] | None = None,
        credential_header: str = "Authorization",
    ) -> None:
        self.app = app
        self.store = store
        self.ttl_seconds = ttl_seconds
        self.principal = principal
        self.credential_header = credential_header.lower().encode("latin-1")

    def _subject(self, scope: Scope, headers: dict[bytes, bytes]) -> str | None:
        state = scope.get("state") or {}
        if "subject" in state:  # verified upstream (the authentication middleware): once
            subject: str | None = state["subject"]
            return subject
        if self.principal is None:
            client = scope.get("client")
            return f"address:{client[0] if client else 'unknown'}"
        credential = headers.get(self.credential_header)
        return self.principal(credential.decode("latin-1") if credential else None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request once per key; replay or refuse retries."""
        headers = dict(scope["headers"]) if scope["type"] == "http" else {}
        raw_key = headers.get(b"idempotency-key")
        if scope["type"] != "http" or scope["method"] not in _METHODS or raw_key is None:
            await self.app(scope, receive, send)
            return
        subject = self._subject(scope, headers)
        if subject is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        if not key or len(key) > _MAX_KEY_LENGTH or not key.isprintable():
            await self._problem(
                scope,
                receive,
                send,
                400,
                f"Idempotency-Key must be 1-{_MAX_KEY_LENGTH} printable characters",
                "invalid_idempotency_key",
            )
            return
        try:
            body = await _read_body(receive)
        except HTTPException as exc:  # the body size limit, raised while reading
            await self._problem(
                scope, receive, send, exc.status_code, exc.detail, "content_too_large"
            )
            return
        if body is None:  # the client went away before sending its body
            return
        scoped_key = f"{subject}\0{scope['method']}\0{scope['path']}\0{key}"
        try:
            result = await self.store.begin(
                scoped_key, _fingerprint(scope, body), ttl_seconds=self.ttl_seconds
            )
        except ConnectionError:  # a shared store is down: running could duplicate the request
            await self._problem(
                scope,
                receive,
                send,
                503,
                "Idempotency keys cannot be checked right now; retry shortly",
                "dependency_unavailable",
            )
            return
        if result.outcome is BeginOutcome.MISMATCH:
            await self._problem(
                scope,
                receive,
                send,
                422,
                "This Idempotency-Key was used with a different request",
                "idempotency_key_reused",
            )
        elif result.outcome is BeginOutcome.IN_FLIGHT:
            await self._problem(
                scope,
                receive,
                send,
                409,
                "A request with this Idempotency-Key is still being processed",
                "idempotency_key_in_flight",
            )
        elif result.outcome is BeginOutcome.COMPLETED:
            assert result.response is not None  # noqa: S101 - COMPLETED carries the response
            await _replay(result.response, send)
        else:
            await self._run_and_store(scope, body, receive, send, scoped_key)

    async def _run_and_store(
        self, scope: Scope, body: bytes, receive: Receive, send: Send, key: str
    ) -> None:
        status = 0
        response_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        replayed = False

        async def replay_receive() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def send_recording(message: Message) -> None:
            nonlocal status, response_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, send_recording)
        except BaseException:
            await self.store.release(key)
            raise
        if status == 0 or status >= 500:  # noqa: PLR2004 - server errors may be retried
            await self.store.release(key)
            return
        if (b"cache-control", b"no-store") in response_headers:
            await self.store.release(key)
            return
        await self.store.complete(
            key, StoredResponse(status=status, headers=response_headers, body=b"".join(chunks))
        )

    @staticmethod
    async def _problem(  # noqa: PLR0913, PLR0917 - the ASGI triple plus the problem's fields
        scope: Scope, receive: Receive, send: Send, status: int, detail: str, code: str
    ) -> None:
        body = problem_body(status=status, detail=detail, code=code, instance=scope["path"])
        await ProblemResponse(body, status_code=status)(scope, receive, send)


async def _read_body(receive: Receive) -> bytes | None:
    """Read the whole request body, or return ``None`` if the client disconnects first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _replay(response: StoredResponse, send: Send) -> None:
    headers = [*response.headers, (REPLAYED_HEADER.lower().encode(), b"true")]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body, "more_body": False})
