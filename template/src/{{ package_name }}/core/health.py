"""Liveness and readiness probes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from pydantic import BaseModel

from .problems import ProblemResponse, problem_body

__all__ = ["HealthStatus", "health_router"]

logger = logging.getLogger(__name__)

health_router = APIRouter(tags=["operations"])


class HealthStatus(BaseModel):
    """Answer of a probe that passed."""

    status: str


@health_router.get("/healthz", summary="Liveness: the process serves requests")
async def liveness() -> HealthStatus:
    """Answer 200 while the process can serve requests; checks no dependency."""
    return HealthStatus(status="ok")


@health_router.get(
    "/readyz",
    summary="Readiness: the dependencies answer",
    responses={503: {"description": "A dependency is down", "model": None}},
    response_model=HealthStatus,
)
async def readiness(request: Request) -> HealthStatus | ProblemResponse:
    """Answer 200 when every dependency answers in time, else a 503 problem naming it.

    The checks are ``app.state.readiness_checks``: the database's ``SELECT 1``, and the
    other servers the service depends on.
    """
    checks: dict[str, Callable[[], Awaitable[None]]] = request.app.state.readiness_checks
    for name, check in checks.items():
        try:
            await check()
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
            body = problem_body(
                status=503,
                detail=f"The {name} is not available",
                code="dependency_unavailable",
                instance=request.url.path,
            )
            return ProblemResponse(body, status_code=503)
    return HealthStatus(status="ok")
