"""RFC 9457 problem details: one JSON shape for every error the HTTP API returns."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import PreconditionRequiredError, ServiceError
from .request_id import current_request_id

__all__ = [
    "PROBE_PATHS",
    "PROBLEM_MEDIA_TYPE",
    "CatchAllMiddleware",
    "ProblemDetails",
    "ProblemResponse",
    "document_problems",
    "error_response",
    "install_problem_handlers",
    "problem_body",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"

logger = logging.getLogger(__name__)


class FieldError(BaseModel):
    """One reason a request failed validation."""

    loc: list[str | int] = Field(description="Where the error is: body, query, header...")
    msg: str
    type: str


class ProblemDetails(BaseModel):
    """An RFC 9457 problem: the body of every error response."""

    type: str = Field(default="about:blank", description="URI of the problem type")
    title: str = Field(description="Short summary of the problem type")
    status: int = Field(description="HTTP status code")
    detail: str = Field(description="Explanation of this occurrence")
    instance: str | None = Field(default=None, description="Path of the request")
    code: str = Field(description="Stable, machine-readable problem code (not_found...)")
    request_id: str | None = Field(default=None, description="Id of the request, for support")
    errors: list[FieldError] | None = Field(default=None, description="Validation errors (422)")


#: RFC 9110 names, whatever the running Python's ``http.HTTPStatus`` calls them.
_RFC_9110_PHRASES = {413: "Content Too Large", 422: "Unprocessable Content"}


def _phrase(status: int) -> str:
    if status in _RFC_9110_PHRASES:
        return _RFC_9110_PHRASES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_body(  # noqa: PLR0913 - keyword-only fields of RFC 9457
    *,
    status: int,
    title: str | None = None,
    detail: str | None = None,
    code: str | None = None,
    instance: str | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build a problem details object.

    ``type`` stays ``about:blank`` (the status says it all); ``code`` names the problem for
    programs, defaulting to the status phrase in snake case (``not_found``).
    """
    phrase = _phrase(status)
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or phrase,
        "status": status,
        "detail": detail or title or phrase,
    }
    body["code"] = code or "_".join(phrase.lower().replace("-", " ").split())
    if instance:
        body["instance"] = instance
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    body.update(extensions or {})
    return body


class ProblemResponse(Response):
    """A response whose body is a problem details object."""

    media_type = PROBLEM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:  # noqa: ANN401 - Starlette's signature
        """Serialize the problem compactly."""
        return json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()


def error_response(error: ServiceError, *, instance: str | None = None) -> ProblemResponse:
    """Return the problem response of a service error, for code that returns rather than raises."""
    body = problem_body(
        status=error.status,
        title=error.title,
        detail=error.detail,
        code=error.code,
        instance=instance,
    )
    return ProblemResponse(body, status_code=error.status, headers=error.headers)


def _problem(
    request: Request,
    *,
    status: int,
    headers: Mapping[str, str] | None = None,
    **fields: Any,  # noqa: ANN401
) -> ProblemResponse:
    body = problem_body(status=status, instance=request.url.path, **fields)
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


async def _service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)  # noqa: S101 - registered for ServiceError only
    return error_response(exc, instance=request.url.path)


#: The methods ``Allow`` may list; OPTIONS is answered for every path that has routes.
_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path (the router names only one route's)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for HTTPException only
    if exc.status_code in {204, 304}:
        return Response(status_code=exc.status_code, headers=exc.headers)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:  # noqa: PLR2004
        allowed = _allowed_methods(request)
        if request.method == "OPTIONS" and allowed:  # not a CORS preflight: CORS answers those
            return Response(status_code=204, headers={"Allow": ", ".join([*allowed, "OPTIONS"])})
        headers["Allow"] = ", ".join(allowed)
    detail = exc.detail if isinstance(exc.detail, str) else None
    return _problem(request, status=exc.status_code, detail=detail, headers=headers)


#: Where a missing precondition header is reported: RFC 6585 answers 428, not 422.
_PRECONDITION_HEADERS = frozenset({("header", "if-match")})


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for it only
    errors = [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type")}
        for error in exc.errors()
    ]
    if errors and all(
        e["type"] == "missing" and tuple(e["loc"]) in _PRECONDITION_HEADERS for e in errors
    ):
        missing = PreconditionRequiredError("Send If-Match with the resource's current ETag")
        return error_response(missing, instance=request.url.path)
    return _problem(
        request,
        status=422,
        detail="The request does not match the expected schema",
        code="validation_failed",
        extensions={"errors": jsonable_encoder(errors)},
    )


async def _unhandled_error(request: Request, exc: Exception) -> Response:
    logger.error("unhandled error", exc_info=exc)
    return _problem(request, status=500, code="internal_error")


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error with problem details: domain, framework, validation, unexpected."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unhandled_error)


#: Paths of the document that load shedding and rate limits let through: the probes.
PROBE_PATHS = frozenset({"/healthz", "/readyz"})
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def _middleware_answers(method: str, path: str, operation: Mapping[str, Any]) -> dict[str, str]:
    """The statuses the middleware and framework may answer for an operation, and why."""
    answers = {"500": "Unexpected error; the body reveals nothing internal"}
    if "requestBody" in operation:
        answers["400"] = "The body cannot be parsed"
        answers["413"] = "The body is larger than the service accepts"
        answers["422"] = "The request does not match the expected schema"
    if method in {"post", "patch"}:  # the idempotency middleware's
        answers["400"] = "The body cannot be parsed, or Idempotency-Key is not valid"
        answers["409"] = "A request with the same Idempotency-Key is still in progress"
        answers["422"] = "Invalid request, or Idempotency-Key reused with another request"
    if path not in PROBE_PATHS:
        answers["429"] = "Too many requests from this client; retry after Retry-After"
        answers["503"] = "Overloaded, or a dependency is unavailable; retry after Retry-After"
    return answers


def _document_operation(method: str, path: str, operation: dict[str, Any]) -> None:
    """Add what the middleware answers, a problem body on every error, Retry-After on 429/503."""
    content = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, description in _middleware_answers(method, path, operation).items():
        responses.setdefault(status, {"description": description})
    for status, response in responses.items():
        if status[0] in "45":
            response["content"] = content
        if status in {"429", "503"}:
            response["headers"] = {**response.get("headers", {}), **_RETRY_AFTER}
    operation["responses"] = dict(sorted(responses.items()))


def document_problems(app: FastAPI) -> None:
    """Describe every 4xx and 5xx response of the OpenAPI document as a problem.

    Each operation also lists what the middleware in front of it may answer: 400, 413 and 422
    for a body it cannot use, 409 and 422 from idempotency keys, 429 and 503 with
    ``Retry-After`` (rate limits, load shedding, a dependency away) and 500. The document
    describes every deployment, so 429 is listed even where ``RATE_LIMIT_PER_MINUTE`` is 0.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        problem = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem.pop("$defs", {}))
        schemas["ProblemDetails"] = problem
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                _document_operation(method, path, operation)
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


class CatchAllMiddleware:
    """Turn an unhandled exception into a 500 problem that reveals nothing internal.

    It sits innermost, so the middleware around it (request ids, metrics, security headers)
    still sees and decorates the 500 response.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the application and answer 500 if it raises before responding."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as exc:
            if started:
                raise
            logger.exception("unhandled error", exc_info=exc)
            body = problem_body(status=500, code="internal_error", instance=scope.get("path"))
            response = ProblemResponse(body, status_code=500)
            await response(scope, receive, send)
