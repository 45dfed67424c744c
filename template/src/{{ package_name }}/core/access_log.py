"""One access log line per HTTP request, labelled by route template, not raw path."""

from __future__ import annotations

import logging
import time

from fastapi.routing import iter_route_contexts
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["AccessLogMiddleware", "RouteTemplates"]

access_logger = logging.getLogger("access")

_UNMATCHED_ROUTE = "<unmatched>"


class RouteTemplates:
    """Full path templates (``/v1/items/{item_id}``) of an application's routes.

    Logs and metrics use templates, never raw paths, so that ids in URLs cannot explode the
    number of time series; a path no route serves is labelled ``<unmatched>``.
    """

    def __init__(self) -> None:
        self._by_route: dict[int, str] = {}
        self._static: frozenset[str] = frozenset()

    def __call__(self, scope: Scope) -> str:
        """Return the template of the route that serves ``scope``."""
        route = scope.get("route")
        if not self._by_route and "app" in scope:
            paths = [
                (context.route, context.path)
                for context in iter_route_contexts(scope["app"].routes)
                if context.path is not None
            ]
            self._by_route = {id(route): path for route, path in paths}
            self._static = frozenset(path for _, path in paths if "{" not in path)
        if route is not None and id(route) in self._by_route:
            return self._by_route[id(route)]
        path: str = scope["path"]
        return path if path in self._static else _UNMATCHED_ROUTE


class AccessLogMiddleware:
    """Time every HTTP request and write its access log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._route_template = RouteTemplates()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle the request, then log its method, route, status and duration."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def send_recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        finally:
            elapsed = time.perf_counter() - start
            route = self._route_template(scope)
            method = scope["method"]
            access_logger.info(
                "%s %s %d",
                method,
                route,
                status,
                extra={
                    "method": method,
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                },
            )
