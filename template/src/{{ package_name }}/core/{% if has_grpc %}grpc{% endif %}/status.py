"""Domain errors as gRPC status codes: one table, read by the error interceptor."""

from __future__ import annotations

import grpc
from pydantic import ValidationError

from ..errors import ServiceError

__all__ = ["INTERNAL_DETAIL", "MAX_DETAIL_BYTES", "status_of"]

#: What a caller learns of an unexpected error: nothing it could use against the service.
INTERNAL_DETAIL = "Internal error"
#: Longest detail sent, in UTF-8 bytes. It may echo what the caller sent (an id), and travels
#: percent-encoded in a header that clients bound (8 KiB by default): past that bound the
#: client sees RESOURCE_EXHAUSTED instead of the status.
MAX_DETAIL_BYTES = 1024

#: The status of each error by the HTTP status the REST transport answers with, so that a
#: feature's own ``ServiceError`` subclasses map without registering anything.
_BY_HTTP_STATUS = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    # A conflict or a stale version: read again, then retry the read-modify-write.
    409: grpc.StatusCode.ABORTED,
    412: grpc.StatusCode.ABORTED,
    422: grpc.StatusCode.INVALID_ARGUMENT,
    # The call lacks a precondition (the version a change is based on).
    428: grpc.StatusCode.FAILED_PRECONDITION,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    503: grpc.StatusCode.UNAVAILABLE,
}


def status_of(error: Exception) -> tuple[grpc.StatusCode, str]:
    """Return the status code and the detail safe to send for ``error``.

    Service errors keep their detail (cut at ``MAX_DETAIL_BYTES``); invalid input names the
    fields at fault; anything else is ``INTERNAL`` with no detail, since it may hold internals.
    """
    if isinstance(error, ValidationError):
        fields = sorted({".".join(str(part) for part in e["loc"]) for e in error.errors()})
        return grpc.StatusCode.INVALID_ARGUMENT, _bounded(f"Invalid fields: {', '.join(fields)}")
    if isinstance(error, ServiceError):
        code = _BY_HTTP_STATUS.get(error.status)
        if code is not None:
            return code, _bounded(error.detail)
    return grpc.StatusCode.INTERNAL, INTERNAL_DETAIL


def _bounded(detail: str) -> str:
    """``detail``, cut to ``MAX_DETAIL_BYTES`` of UTF-8 (marked by an ellipsis) if longer."""
    encoded = detail.encode()
    if len(encoded) <= MAX_DETAIL_BYTES:
        return detail
    return encoded[: MAX_DETAIL_BYTES - 3].decode(errors="ignore") + "..."
