"""Liveness and readiness probes."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from pydantic import BaseModel

from .db import get_database
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
    """Answer 200 when the database answers ``SELECT 1`` in time, else a 503 problem."""
    try:
        await get_database(request).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        logger.warning("readiness check failed: %s", type(exc).__name__)
        body = problem_body(
            status=503,
            detail="The database is not available",
            code="dependency_unavailable",
            instance=request.url.path,
        )
        return ProblemResponse(body, status_code=503)
    return HealthStatus(status="ok")
