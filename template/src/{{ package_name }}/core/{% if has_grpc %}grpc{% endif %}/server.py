"""The gRPC server of an application: its services, the standard ones, and its lifecycle."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import grpc
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from .health import Checks, ReadinessHealthServicer

__all__ = ["GrpcServer", "Register"]

logger = logging.getLogger(__name__)

#: Adds a servicer to a server, as the generated ``add_<Service>Servicer_to_server`` does.
Register = Callable[[grpc.aio.Server], None]


class GrpcServer:
    """A ``grpc.aio`` server in the application's process, started by its lifespan.

    Features add their services before it starts (``add_service``). Health checking comes
    with every server; reflection with those whose API docs are on (``DOCS_ENABLED``).
    With ``shared_port``, every worker process of the service binds the same port. Past
    ``max_concurrent_rpcs`` calls in flight, a new call is refused at once with
    ``RESOURCE_EXHAUSTED``, as is a request message over ``max_message_bytes``.
    """

    def __init__(  # noqa: PLR0913 - keyword-only settings of one server
        self,
        *,
        host: str,
        port: int,
        grace_seconds: float,
        reflection: bool,
        checks: Callable[[], Checks],
        interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
        shared_port: bool = False,
        max_concurrent_rpcs: int | None = None,
        max_message_bytes: int | None = None,
    ) -> None:
        self._shared_port = shared_port
        self._max_concurrent_rpcs = max_concurrent_rpcs
        self._max_message_bytes = max_message_bytes
        self._address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._grace = grace_seconds
        self._reflection = reflection
        self._checks = checks
        self._interceptors = tuple(interceptors)
        self._services: dict[str, Register] = {}
        self._server: grpc.aio.Server | None = None
        self._health: ReadinessHealthServicer | None = None
        #: The port the server listens on once started (the chosen one when ``port`` is 0).
        self.port: int | None = None

    def add_service(self, name: str, register: Register) -> None:
        """Serve the service ``name`` (``package.Service``) that ``register`` adds."""
        self._services[name] = register

    @property
    def services(self) -> list[str]:
        """The full names of the services served, the standard ones included."""
        standard = [health.SERVICE_NAME]
        if self._reflection:
            standard.append(reflection.SERVICE_NAME)
        return [*self._services, *standard]

    async def start(self) -> None:
        """Bind the address and start serving."""
        # One server per port, unless the worker processes of one service share it (the
        # kernel spreads connections over them): otherwise a second process could bind it.
        options: list[tuple[str, int]] = [("grpc.so_reuseport", int(self._shared_port))]
        if self._max_message_bytes is not None:
            options.append(("grpc.max_receive_message_length", self._max_message_bytes))
        server = grpc.aio.server(
            interceptors=self._interceptors,
            options=options,
            maximum_concurrent_rpcs=self._max_concurrent_rpcs,
        )
        for register in self._services.values():
            register(server)
        self._health = ReadinessHealthServicer(list(self._services), self._checks)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        if self._reflection:
            reflection.enable_server_reflection(self.services, server)
        self.port = server.add_insecure_port(self._address)
        await server.start()
        self._server = server
        await self._health.refresh()
        logger.info("grpc server started", extra={"grpc_port": self.port})

    async def drain(self) -> None:
        """Report ``NOT_SERVING`` for good, still serving: clients move to other servers."""
        if self._health is not None:
            await self._health.enter_graceful_shutdown()

    async def stop(self) -> None:
        """Report ``NOT_SERVING``, then let in-flight calls finish within the grace period."""
        if self._server is None:
            return
        if self._health is not None:
            await self._health.enter_graceful_shutdown()
        await self._server.stop(self._grace)
        self._server = None
        logger.info("grpc server stopped")
