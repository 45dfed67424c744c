"""A gRPC-only service, generated and called as its README shows.

Full tier (`-m ''`): a real `make run`, and the README's own snippet through the stubs.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests._template import free_port, make_run, render, run, service_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::copier.errors.DirtyLocalWarning"),
]

#: The README's call of the gRPC API, as a shell command with its heredoc.
_README_CALL = re.compile(r"```sh\n(TOKEN=\$TOKEN uv run python - <<'EOF'\n.*?\nEOF)\n```", re.S)
_ADMIN = {"ADMIN_EMAIL": "admin@example.com", "ADMIN_PASSWORD": "quick-start-pass-1"}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("grpc") / "my-service", {"api": ["grpc"]})


def test_the_readme_s_grpc_call_creates_an_item(service: Path) -> None:
    call = _README_CALL.search((service / "README.md").read_text(encoding="utf-8"))
    assert call, "the README shows no gRPC call"
    grpc_port = free_port()
    command = call.group(1).replace("127.0.0.1:50051", f"127.0.0.1:{grpc_port}")

    with make_run(service, GRPC_PORT=str(grpc_port), **_ADMIN) as base:
        sign_in = {"username": _ADMIN["ADMIN_EMAIL"], "password": _ADMIN["ADMIN_PASSWORD"]}
        token = httpx.post(f"{base}/v1/auth/token", data=sign_in, timeout=10)
        assert token.status_code == 200, token.text
        env = service_env(TOKEN=token.json()["access_token"])
        created = run(["bash", "-c", command], service, env=env)
        refused = run(["bash", "-c", command], service, env=service_env(TOKEN="x"), check=False)

    assert 'name: "first"' in created.stdout
    assert "version: 1" in created.stdout
    assert refused.returncode != 0
    assert "UNAUTHENTICATED" in refused.stderr
