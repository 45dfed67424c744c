"""HTTP hardening: security headers on every response and a bound on request bodies."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import ProblemResponse, problem_body

__all__ = ["BodySizeLimitMiddleware", "SecurityHeadersMiddleware"]

_API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
#: The interactive docs load Swagger UI and ReDoc from their CDN.
_DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; connect-src 'self'; worker-src blob:; frame-ancestors 'none'"
)
_DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
_STATIC_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    # Responses carry user data: not stored unless the route says otherwise.
    "Cache-Control": "no-store",
}


def _raw(headers: dict[str, str]) -> tuple[tuple[bytes, bytes], ...]:
    """Headers as ASGI carries them: lower-case names, both as bytes."""
    return tuple((name.lower().encode(), value.encode()) for name, value in headers.items())


_API_HEADERS = _raw({**_STATIC_HEADERS, "Content-Security-Policy": _API_CSP})
_DOCS_HEADERS = _raw({**_STATIC_HEADERS, "Content-Security-Policy": _DOCS_CSP})


class SecurityHeadersMiddleware:
    """Add CSP, HSTS, nosniff, framing and referrer policies to every response.

    A header the response already has is kept: a route may allow caching, for instance.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Decorate the response headers as they leave."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        defaults = _DOCS_HEADERS if scope["path"] in _DOCS_PATHS else _API_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # One pass over the response's headers, not one per default.
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(pair for pair in defaults if pair[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodySizeLimitMiddleware:
    """Reject request bodies larger than ``max_bytes`` with a 413 problem.

    A declared ``Content-Length`` over the limit is refused before reading; a body sent
    without one is counted as it streams in.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then bound what is actually received."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            response = ProblemResponse(
                problem_body(
                    status=413,
                    detail=self._detail,
                    code="content_too_large",
                    instance=scope["path"],
                ),
                status_code=413,
            )
            await response(scope, receive, send)
            return
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(status_code=413, detail=self._detail)
            return message

        await self.app(scope, bounded_receive, send)

    @property
    def _detail(self) -> str:
        return f"The request body is larger than {self.max_bytes} bytes"
