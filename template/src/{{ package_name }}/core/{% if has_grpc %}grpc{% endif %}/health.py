"""The standard gRPC health service, its serving status following the readiness checks."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from grpc_health.v1 import health_pb2
from grpc_health.v1.health import aio

if TYPE_CHECKING:
    from .interceptors import Context

__all__ = ["ReadinessHealthServicer", "ready"]

logger = logging.getLogger(__name__)

Checks = Mapping[str, Callable[[], Awaitable[None]]]
_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def ready(checks: Checks) -> bool:
    """Whether every readiness check passes (the checks ``/readyz`` runs)."""
    for name, check in checks.items():
        try:
            await check()
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
            return False
    return True


class ReadinessHealthServicer(aio.HealthServicer):
    """``grpc.health.v1.Health``: a ``Check`` runs the readiness checks first.

    The server (``""``) and every registered service are ``SERVING`` while the dependencies
    answer, ``NOT_SERVING`` when one does not, and for good once the server begins to stop.
    """

    def __init__(self, services: list[str], checks: Callable[[], Checks]) -> None:
        super().__init__()
        self._services = ["", *services]
        self._checks = checks

    async def refresh(self) -> None:
        """Set every service's status from the readiness checks."""
        status = _SERVING if await ready(self._checks()) else _NOT_SERVING
        for service in self._services:
            await self.set(service, status)

    async def Check(  # noqa: N802 - the name the generated servicer declares
        self, request: health_pb2.HealthCheckRequest, context: Context
    ) -> health_pb2.HealthCheckResponse:
        """Answer with the status the readiness checks give now."""
        await self.refresh()
        response: health_pb2.HealthCheckResponse = await super().Check(request, context)
        return response
