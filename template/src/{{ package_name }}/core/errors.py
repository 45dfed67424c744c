"""Error types shared by every feature; transports turn them into protocol errors.

This module imports no web framework so that domain code can raise these errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

__all__ = [
    "ConflictError",
    "ForbiddenError",
    "NotFoundError",
    "PreconditionFailedError",
    "PreconditionRequiredError",
    "ServiceError",
    "ServiceUnavailableError",
    "TooManyRequestsError",
    "UnauthorizedError",
    "ValidationFailedError",
]


class ServiceError(Exception):
    """Root of the errors a service raises on purpose.

    Attributes:
        status: HTTP status the REST transport answers with.
        title: Short, stable summary of the problem type.
        code: Machine-readable problem code, stable across releases.
        detail: Human-readable explanation of this occurrence, safe to show to clients.
        headers: Extra response headers (``WWW-Authenticate``, ``Retry-After``...).
    """

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal Server Error"
    code: ClassVar[str] = "internal_error"

    def __init__(
        self, detail: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers: dict[str, str] = dict(headers or {})


class ValidationFailedError(ServiceError, ValueError):
    """The request is well-formed but its content breaks a rule."""

    status = 422
    title = "Unprocessable Content"
    code = "validation_failed"


class UnauthorizedError(ServiceError):
    """The request has no valid credentials."""

    status = 401
    title = "Unauthorized"
    code = "unauthorized"

    def __init__(
        self, detail: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer", **(headers or {})})


class ForbiddenError(ServiceError, PermissionError):
    """The caller is known but may not do this."""

    status = 403
    title = "Forbidden"
    code = "forbidden"


class NotFoundError(ServiceError, LookupError):
    """The resource does not exist or is not visible to the caller."""

    status = 404
    title = "Not Found"
    code = "not_found"


class ConflictError(ServiceError):
    """The request conflicts with the current state of the resource."""

    status = 409
    title = "Conflict"
    code = "conflict"


class PreconditionFailedError(ServiceError):
    """A conditional request's precondition (``If-Match``) does not hold."""

    status = 412
    title = "Precondition Failed"
    code = "precondition_failed"


class PreconditionRequiredError(ServiceError):
    """The request must be conditional (``If-Match``) and is not."""

    status = 428
    title = "Precondition Required"
    code = "precondition_required"


class TooManyRequestsError(ServiceError):
    """The caller must slow down: the same request may succeed after ``Retry-After``.

    Raise it with ``headers={"Retry-After": ...}``; the code is the rate limit's own, so that
    clients handle every 429 alike.
    """

    status = 429
    title = "Too Many Requests"
    code = "rate_limited"


class ServiceUnavailableError(ServiceError):
    """A dependency is away or at capacity: the same request may succeed after ``Retry-After``."""

    status = 503
    title = "Service Unavailable"
    code = "unavailable"

    def __init__(
        self,
        detail: str | None = None,
        *,
        retry_after_seconds: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            detail, headers={"Retry-After": str(retry_after_seconds), **(headers or {})}
        )
