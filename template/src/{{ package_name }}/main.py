"""Composition root: the template's application plus this service's features.

Register features (routers) and the team's own middleware here. Cross-cutting standards
live in ``core/`` and arrive with template updates.
"""

from __future__ import annotations

from fastapi import FastAPI

from .core.app import build_app
from .items.api_rest import router as items_router
from .settings import Settings, get_settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application from ``settings`` (read from the environment by default)."""
    settings = settings or get_settings()
    # Pass public_paths=[...] for routes served without authentication (webhooks...).
    app = build_app(settings)
    app.include_router(items_router, prefix="/v1")
    return app
