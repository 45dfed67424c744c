"""Server interceptors of the gRPC transport: access log, deadlines and error mapping.

Each wraps the unary calls of every service; streaming calls (the standard health ``Watch``
and reflection) pass through unchanged. A request message that does not parse reaches the
interceptors as an ``UnparsableRequest`` rather than failing inside grpc (which answers
``UNKNOWN``), so the call is logged, authenticated, and answered ``INVALID_ARGUMENT``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import grpc

from .status import status_of

__all__ = [
    "AccessLogInterceptor",
    "Behaviour",
    "Context",
    "DeadlineInterceptor",
    "ErrorInterceptor",
    "UnaryInterceptor",
    "UnparsableRequest",
    "outcome",
    "split_method",
]

access_logger = logging.getLogger("access")
logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # generic in the type stubs only
    Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]
    Behaviour: TypeAlias = Callable[[object, Context], Awaitable[object]]
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]


class UnparsableRequest:
    """Stands for a request message that did not parse: the error interceptor refuses it."""

    def __init__(self, error: Exception) -> None:
        self.error = error


class _Tolerant:
    """A request deserializer that returns ``UnparsableRequest`` instead of raising."""

    def __init__(self, deserialize: Callable[[bytes], object]) -> None:
        self.deserialize = deserialize

    def __call__(self, data: bytes) -> object:
        try:
            return self.deserialize(data)
        except Exception as exc:  # noqa: BLE001 - protobuf raises DecodeError, others may differ
            return UnparsableRequest(exc)


def _tolerant(deserialize: Callable[[bytes], object] | None) -> Callable[[bytes], object] | None:
    if deserialize is None or isinstance(deserialize, _Tolerant):
        return deserialize
    return _Tolerant(deserialize)


def split_method(method: str) -> tuple[str, str]:
    """Split ``/package.Service/Method`` into the service and method names."""
    service, _, name = method.lstrip("/").rpartition("/")
    return service, name


def outcome(context: Context, error: BaseException | None) -> grpc.StatusCode:
    """The status a call ended with, given the exception it raised, if any."""
    if error is None:
        return grpc.StatusCode.OK
    if isinstance(error, grpc.aio.AbortError):
        return context.code() or grpc.StatusCode.UNKNOWN
    if isinstance(error, asyncio.CancelledError):
        remaining = cast("float | None", context.time_remaining())
        if remaining is not None and remaining <= 0:
            return grpc.StatusCode.DEADLINE_EXCEEDED
        return grpc.StatusCode.CANCELLED
    return grpc.StatusCode.UNKNOWN


class UnaryInterceptor(grpc.aio.ServerInterceptor):
    """Runs ``around`` each unary-unary call; subclasses say what happens around it."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        """Wrap the behaviour of a unary call; leave streaming calls as they are."""
        handler = await continuation(handler_call_details)
        if handler is None or handler.request_streaming or handler.response_streaming:
            return handler
        call = cast("Behaviour", handler.unary_unary)
        method = handler_call_details.method

        async def behaviour(request: object, context: Context) -> object:
            return await self.around(call, request, context, method=method)

        return grpc.unary_unary_rpc_method_handler(
            behaviour,
            request_deserializer=_tolerant(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )

    async def around(
        self, call: Behaviour, request: object, context: Context, *, method: str
    ) -> object:
        """Run ``call(request, context)`` with this interceptor's behaviour around it."""
        raise NotImplementedError


class AccessLogInterceptor(UnaryInterceptor):
    """One JSON access log line per call: service, method, status code and duration."""

    async def around(
        self, call: Behaviour, request: object, context: Context, *, method: str
    ) -> object:
        """Handle the call, then log it."""
        start = time.perf_counter()
        error: BaseException | None = None
        try:
            return await call(request, context)
        except BaseException as exc:
            error = exc
            raise
        finally:
            elapsed = time.perf_counter() - start
            service, name = split_method(method)
            code = outcome(context, error)
            access_logger.info(
                "grpc %s %s",
                method,
                code.name,
                extra={
                    "protocol": "grpc",
                    "grpc_service": service,
                    "grpc_method": name,
                    "grpc_code": code.name,
                    "duration_ms": round(elapsed * 1000, 3),
                },
            )


class DeadlineInterceptor(UnaryInterceptor):
    """Bound every call by ``seconds``: the deadline of calls that bring none, and the longest.

    A call that outlives it ends with ``DEADLINE_EXCEEDED`` and its work is cancelled, so a
    client that never sets a deadline cannot pin a database connection forever.
    """

    def __init__(self, *, seconds: float) -> None:
        self._seconds = seconds

    async def around(
        self, call: Behaviour, request: object, context: Context, *, method: str
    ) -> object:
        """Run the call within the smaller of its own deadline and the service's."""
        remaining = cast("float | None", context.time_remaining())
        budget = self._seconds if remaining is None else min(remaining, self._seconds)
        scope = asyncio.timeout(budget)
        try:
            async with scope:
                return await call(request, context)
        except TimeoutError:
            if not scope.expired():
                raise
            await context.abort(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"The call did not finish within {budget:.3g} seconds",
            )


class ErrorInterceptor(UnaryInterceptor):
    """Turn the errors a call raises into status codes (``status.status_of``).

    Unexpected errors are logged with their traceback and answered ``INTERNAL`` with no
    detail; service errors carry their stable code in the ``error-code`` trailing metadata.
    A request message that did not parse is ``INVALID_ARGUMENT``, and never runs.
    """

    async def around(
        self, call: Behaviour, request: object, context: Context, *, method: str
    ) -> object:
        """Run the call; abort it with the status its error maps to."""
        if isinstance(request, UnparsableRequest):
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "The request message cannot be parsed",
                trailing_metadata=(("error-code", "unparsable_request"),),
            )
        try:
            return await call(request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            code, detail = status_of(exc)
            if code is grpc.StatusCode.INTERNAL:
                logger.exception("unhandled error in %s", method)
            error_code = getattr(exc, "code", None)
            trailers = (("error-code", error_code),) if isinstance(error_code, str) else ()
            await context.abort(code, detail, trailing_metadata=trailers)
