"""Run the service with uvicorn: ``python -m <package>`` or the project's script."""

from __future__ import annotations

import sys

import uvicorn
from pydantic import ValidationError

from .main import create_app
from .settings import get_settings


def main() -> None:
    """Serve the application on ``HOST``:``PORT``, finishing in-flight requests on shutdown."""
    try:
        settings = get_settings()
    except ValidationError as exc:
        sys.exit(f"refusing to start: the configuration is not valid\n{exc}")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        server_header=False,
        timeout_graceful_shutdown=30,
    )


if __name__ == "__main__":
    main()
