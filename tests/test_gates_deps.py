"""The `deps` gate against real pip-audit, uv's CycloneDX export and PyPA advisories."""

from __future__ import annotations

import json
import re
import shutil
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from paved_gates import _deps

from tests._gates import finding_ids as ids
from tests._gates import run_gate
from tests.osv_server import SHIPPED_ADVISORIES, OsvServer, serve

FIXTURES = Path(__file__).parent / "fixtures" / "deps"


@pytest.fixture(scope="module")
def osv_server() -> Iterator[OsvServer]:
    """A local OSV service over the advisories shipped in tests/fixtures/osv."""
    with serve(SHIPPED_ADVISORIES) as server:
        yield server


@pytest.fixture
def osv(osv_server: OsvServer) -> OsvServer:
    """The module's local OSV service, its record of queries cleared for this test."""
    osv_server.store.queried.clear()
    return osv_server


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_deps.OSV_URL_ENV, raising=False)
    # The local service is reached directly even on a machine that sets a proxy.
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def project(tmp_path: Path, name: str, config: str) -> Path:
    """A copy of a locked fixture project with `[tool.gates.deps]` set to `config`."""
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    with (root / "pyproject.toml").open("a", encoding="utf-8") as f:
        f.write(f"\n[tool.gates.deps]\n{config}\n")
    return root


def waiver(
    vuln_id: str, expires: str, reason: str = "not reachable: no untrusted templates"
) -> str:
    return f'waivers = [{{ id = "{vuln_id}", reason = "{reason}", expires = {expires} }}]'


def test_vulnerable_lock_fails_naming_the_advisory(tmp_path: Path, osv: OsvServer) -> None:
    root = project(tmp_path, "vulnerable", f'osv-url = "{osv.url}"')

    code, result = run_gate("deps", root)

    assert code == 1
    assert result["status"] == "failed"
    assert ids(result) == ["PYSEC-2021-66"]
    message = result["findings"][0]["message"]
    assert message.startswith("jinja2 2.11.2 is affected (also CVE-2020-28493, ")
    assert "CVE-2020-28493" in message
    assert "GHSA-g3rq-g295-4j3m" in message
    assert "fixed in 2.11.3" in message
    assert result["metrics"] == {
        "dependencies": 2,
        "vulnerabilities": 1,
        "waived": 0,
        "skipped": 0,
    }
    assert result["thresholds"] == {"vulnerabilities": 0}
    assert sorted(osv.store.queried) == [("jinja2", "2.11.2"), ("markupsafe", "3.0.4")]


def test_sbom_is_cyclonedx_json_of_the_locked_packages(tmp_path: Path, osv: OsvServer) -> None:
    root = project(tmp_path, "vulnerable", f'osv-url = "{osv.url}"\nsbom = "out/bom.json"')

    run_gate("deps", root)

    bom = json.loads((root / "out" / "bom.json").read_text(encoding="utf-8"))
    assert (bom["bomFormat"], bom["specVersion"]) == ("CycloneDX", "1.5")
    assert bom["metadata"]["component"]["name"] == "inventory"
    purls = {c["purl"] for c in bom["components"]}
    assert "pkg:pypi/jinja2@2.11.2" in purls
    assert any(p.startswith("pkg:pypi/markupsafe@") for p in purls)
    graph = {d["ref"].split("@")[0]: d.get("dependsOn", []) for d in bom["dependencies"]}
    assert [ref.split("@")[0] for ref in graph["jinja2-2"]] == ["markupsafe-3"]


def test_fixed_version_passes_and_writes_the_sbom_beside_the_results(
    tmp_path: Path, osv: OsvServer
) -> None:
    root = project(tmp_path, "fixed", f'osv-url = "{osv.url}"')

    code, result = run_gate("deps", root)

    assert code == 0
    assert result["status"] == "passed"
    assert result["findings"] == []
    assert result["metrics"]["dependencies"] == 2
    assert result["metrics"]["vulnerabilities"] == 0
    assert sorted(osv.store.queried) == [("jinja2", "3.1.4"), ("markupsafe", "3.0.4")]
    bom = json.loads((root / "gate-results" / "sbom.cdx.json").read_text(encoding="utf-8"))
    assert "pkg:pypi/jinja2@3.1.4" in {c["purl"] for c in bom["components"]}


@pytest.mark.parametrize("vuln_id", ["PYSEC-2021-66", "CVE-2020-28493"])
def test_waiver_with_future_expiry_passes_and_is_listed(
    tmp_path: Path, osv: OsvServer, vuln_id: str
) -> None:
    root = project(
        tmp_path, "vulnerable", f'osv-url = "{osv.url}"\n{waiver(vuln_id, "2099-01-31")}'
    )

    code, result = run_gate("deps", root)

    assert code == 0
    assert ids(result) == ["waived:PYSEC-2021-66"]
    assert (
        "waived until 2099-01-31 (not reachable: no untrusted templates)"
        in (result["findings"][0]["message"])
    )
    assert result["metrics"]["waived"] == 1
    assert result["metrics"]["vulnerabilities"] == 0


def test_expired_waiver_fails(tmp_path: Path, osv: OsvServer) -> None:
    root = project(
        tmp_path, "vulnerable", f'osv-url = "{osv.url}"\n{waiver("PYSEC-2021-66", "2024-01-31")}'
    )

    code, result = run_gate("deps", root)

    assert code == 1
    assert ids(result) == ["PYSEC-2021-66"]
    assert result["findings"][0]["message"].startswith(
        "waiver for PYSEC-2021-66 expired on 2024-01-31: jinja2 2.11.2"
    )
    assert result["metrics"]["waived"] == 0


def test_waiver_matching_nothing_is_reported_but_passes(tmp_path: Path, osv: OsvServer) -> None:
    root = project(
        tmp_path, "fixed", f'osv-url = "{osv.url}"\n{waiver("PYSEC-2021-66", "2099-01-31")}'
    )

    code, result = run_gate("deps", root)

    assert code == 0
    assert ids(result) == ["waiver-stale:PYSEC-2021-66"]


def test_expired_waiver_matching_nothing_fails(tmp_path: Path, osv: OsvServer) -> None:
    root = project(
        tmp_path, "fixed", f'osv-url = "{osv.url}"\n{waiver("PYSEC-2021-66", "2024-01-31")}'
    )

    code, result = run_gate("deps", root)

    assert code == 1
    assert ids(result) == ["waiver-expired:PYSEC-2021-66"]


@pytest.mark.parametrize(
    ("waivers", "key"),
    [
        ('[{ reason = "r", expires = 2099-01-01 }]', r"tool\.gates\.deps\.waivers\[0\]\.id"),
        ('[{ id = "X-1", expires = 2099-01-01 }]', r"tool\.gates\.deps\.waivers\[0\]\.reason"),
        (
            '[{ id = "X-1", reason = "  ", expires = 2099-01-01 }]',
            r"tool\.gates\.deps\.waivers\[0\]\.reason",
        ),
        ('[{ id = "X-1", reason = "r" }]', r"tool\.gates\.deps\.waivers\[0\]\.expires"),
        (
            (
                '[{ id = "X-1", reason = "r", expires = "2099-01-01" }, '
                '{ id = "X-2", reason = "r", expires = "next year" }]'
            ),
            r"tool\.gates\.deps\.waivers\[1\]\.expires",
        ),
        (
            '[{ id = "X-1", reason = "r", expires = "2099-02-30" }]',
            r"tool\.gates\.deps\.waivers\[0\]\.expires",
        ),
        (
            '[{ id = "X-1", reason = "r", expires = 2099-01-01, owner = "x" }]',
            r"tool\.gates\.deps\.waivers\[0\]\.owner: unknown key",
        ),
        ('"PYSEC-2021-66"', r"tool\.gates\.deps\.waivers: must be a list"),
        ('["PYSEC-2021-66"]', r"tool\.gates\.deps\.waivers\[0\]: must be a table"),
    ],
)
def test_malformed_waiver_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], waivers: str, key: str
) -> None:
    root = project(tmp_path, "vulnerable", f"waivers = {waivers}")

    code, _ = run_gate("deps", root)

    assert code == 2
    assert re.search(f"configuration error: {key}", capsys.readouterr().err)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('osv-url = "api.osv.dev"', r"tool\.gates\.deps\.osv-url: must be an http"),
        ("sbom = 3", r"tool\.gates\.deps\.sbom: must be a non-empty string"),
        ('osv_url = "http://x"', r"tool\.gates\.deps\.osv_url: unknown key"),
    ],
)
def test_malformed_settings_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], config: str, message: str
) -> None:
    root = project(tmp_path, "fixed", config)

    code, _ = run_gate("deps", root)

    assert code == 2
    assert re.search(message, capsys.readouterr().err)


@pytest.mark.parametrize(
    ("where", "cause"),
    [("closed-port", "connection refused"), ("no-such-host", "its host name does not resolve")],
)
def test_unreachable_service_is_one_line_naming_its_url_and_the_mirror_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, cause: str
) -> None:
    # `.invalid` never resolves (RFC 2606); nothing listens on the closed port.
    url = closed_port_url() if where == "closed-port" else "http://osv.invalid"
    root = project(tmp_path, "vulnerable", f'osv-url = "{url}"')

    code, result = run_gate("deps", root)

    assert code == 3
    assert result["status"] == "error"
    assert ids(result) == ["internal-error"]
    assert result["findings"][0]["message"] == (
        f"deps: the OSV service at {url} cannot be reached ({cause}); point GATES_OSV_URL "
        "(or [tool.gates.deps] osv-url) at an OSV-compatible mirror"
    )
    err = capsys.readouterr().err
    assert "requests.exceptions" not in err
    assert "Traceback" not in err


@pytest.mark.parametrize("api_path", ["", "/v1/query/"])
def test_environment_url_beats_the_configured_one(
    tmp_path: Path, osv: OsvServer, monkeypatch: pytest.MonkeyPatch, api_path: str
) -> None:
    root = project(tmp_path, "vulnerable", f'osv-url = "{closed_port_url()}"')
    monkeypatch.setenv(_deps.OSV_URL_ENV, osv.url + api_path)

    code, result = run_gate("deps", root)

    assert code == 1
    assert ids(result) == ["PYSEC-2021-66"]
    assert sorted(osv.store.queried) == [("jinja2", "2.11.2"), ("markupsafe", "3.0.4")]


def test_environment_url_that_is_no_url_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path, "vulnerable", f'osv-url = "{closed_port_url()}"')
    monkeypatch.setenv(_deps.OSV_URL_ENV, "osv.internal:8080")

    code, result = run_gate("deps", root)

    assert code == 2
    assert "GATES_OSV_URL: must be an http(s) URL" in result["findings"][0]["message"]


def test_missing_lock_exits_2_telling_how_to_create_it(tmp_path: Path, osv: OsvServer) -> None:
    root = project(tmp_path, "fixed", f'osv-url = "{osv.url}"')
    (root / "uv.lock").unlink()

    code, result = run_gate("deps", root)

    assert code == 2
    assert ids(result) == ["config-error"]
    assert re.search(r"no uv\.lock in .*run `uv lock`", result["findings"][0]["message"])


def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    # The local service only: http on 127.0.0.1.
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        answer: dict[str, Any] = json.load(response)
    return answer


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("2.7.3", ["PYSEC-2019-217", "PYSEC-2019-220", "PYSEC-2021-66"]),
        ("2.10", ["PYSEC-2019-217", "PYSEC-2021-66"]),
        ("2.11.2", ["PYSEC-2021-66"]),
        ("2.11.3", []),
    ],
)
def test_local_osv_service_matches_versions_and_ranges(
    osv: OsvServer, version: str, expected: list[str]
) -> None:
    query = {"package": {"name": "Jinja2", "ecosystem": "PyPI"}, "version": version}

    single = post(f"{osv.url}/v1/query", query)
    batch = post(f"{osv.url}/v1/querybatch", {"queries": [query]})

    assert sorted(v["id"] for v in single.get("vulns", [])) == expected
    assert sorted(v["id"] for v in batch["results"][0]["vulns"]) == expected


def test_local_osv_service_serves_advisories_by_id(osv: OsvServer) -> None:
    with urllib.request.urlopen(f"{osv.url}/v1/vulns/PYSEC-2021-66", timeout=10) as response:  # noqa: S310
        advisory = json.load(response)

    assert "CVE-2020-28493" in advisory["aliases"]
    assert advisory["published"] == "2021-02-01T20:15:00Z"
