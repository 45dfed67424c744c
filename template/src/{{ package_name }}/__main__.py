"""Run the service with uvicorn: ``python -m <package>`` or the project's script."""

from __future__ import annotations

import os
import sys

import uvicorn
from pydantic import ValidationError

from .core.workers import worker_count
from .settings import get_settings


def main() -> None:
    """Serve the application on ``HOST``:``PORT`` with ``WEB_CONCURRENCY`` worker processes.

    Without ``WEB_CONCURRENCY``, one worker per CPU the process may use (a container's CPU
    limit included). Each worker builds the application from the environment (the factory
    ``main:create_app``). On SIGTERM, uvicorn's supervisor sends it on to every worker, which
    drains for ``SHUTDOWN_DRAIN_SECONDS`` (see ``core/shutdown.py``), then finishes its
    in-flight requests within ``SHUTDOWN_GRACE_SECONDS``.
    """
    try:
        settings = get_settings()
    except ValidationError as exc:
        sys.exit(f"refusing to start: the configuration is not valid\n{exc}")
    workers = worker_count(settings.web_concurrency)
    # Workers read their settings from the environment: they see the count chosen here.
    os.environ["WEB_CONCURRENCY"] = str(workers)
    uvicorn.run(
        f"{__package__}.main:create_app",
        factory=True,
        workers=workers,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        server_header=False,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )


if __name__ == "__main__":
    main()
