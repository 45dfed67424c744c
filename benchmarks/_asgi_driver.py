"""Call a generated service's application in process, through ASGI; print CPU per request.

Run by `benchmarks.in_process` with the service's own Python, in the service's directory:
`python _asgi_driver.py ENDPOINT REQUESTS`. The application is built from the environment
(production settings), its lifespan runs, an administrator signs in (or, with
`ADMIN_API_KEY` set, sends that key in `X-API-Key`) and creates an item, then ENDPOINT is
called REQUESTS times after a warm-up. No server, socket or client is in the measured CPU:
only the application, its logging (stdout) and its span export thread.
The last line on stderr is `CPU_US <microseconds of process CPU per request>`.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

Message = dict[str, Any]
App = Callable[
    [dict[str, Any], Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]

WARM_UP = 300


async def call(
    app: App, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, bytes]:
    """One HTTP request through the ASGI interface; the status and the body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    answer: dict[str, Any] = {"status": 0, "body": b""}

    async def receive() -> Message:
        if pending:
            return pending.pop()
        await asyncio.Event().wait()  # the request has no more body; wait for cancellation
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return answer["status"], answer["body"]


async def credentials(app: App) -> dict[str, str]:
    """The administrator's: its API key if the service takes keys, else a signed-in token."""
    if "ADMIN_API_KEY" in os.environ:
        return {"x-api-key": os.environ["ADMIN_API_KEY"]}
    form = urlencode(
        {
            "grant_type": "password",
            "username": os.environ["ADMIN_EMAIL"],
            "password": os.environ["ADMIN_PASSWORD"],
        }
    )
    form_type = {"content-type": "application/x-www-form-urlencoded"}
    status, body = await call(app, "POST", "/v1/auth/token", form_type, form.encode())
    assert status == 200, body
    return {"authorization": f"Bearer {json.loads(body)['access_token']}"}


async def main(endpoint: str, requests: int) -> None:
    """Build the application, sign in, create an item, then time `requests` calls."""
    package = os.environ["BENCH_PACKAGE"]
    app = importlib.import_module(f"{package}.main").create_app()
    async with app.router.lifespan_context(app) as state:
        app.state._state.update(state or {})
        auth = {**await credentials(app), "host": "bench"}
        json_type = {**auth, "content-type": "application/json"}
        status, body = await call(app, "POST", "/v1/items", json_type, b'{"name": "bench"}')
        assert status == 201, body
        item = json.loads(body)["id"]

        async def once() -> tuple[int, bytes]:
            if endpoint == "get":
                return await call(app, "GET", f"/v1/items/{item}", auth)
            if endpoint == "list":
                return await call(app, "GET", "/v1/items", auth)
            key = {"idempotency-key": uuid.uuid4().hex}
            return await call(app, "POST", "/v1/items", {**json_type, **key}, b'{"name": "b"}')

        for _ in range(WARM_UP):
            await once()
        start = time.process_time()
        for _ in range(requests):
            status, body = await once()
            assert status < 300, body
        spent = time.process_time() - start
    print(f"CPU_US {spent / requests * 1e6:.1f}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
