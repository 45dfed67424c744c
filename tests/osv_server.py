"""A local OSV-compatible vulnerability service over OSV advisories (JSON, or YAML)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version

__all__ = ["ADVISORY_DB", "SHIPPED_ADVISORIES", "AdvisoryStore", "OsvServer", "serve"]

#: The advisories the tests ship (every jinja2 advisory of the PyPA database, as OSV JSON):
#: enough for the deps gate's own tests, from a fresh clone and offline.
SHIPPED_ADVISORIES = Path(__file__).parent / "fixtures" / "osv" / "vulns"
#: The whole PyPA advisory database snapshot, where a machine has one: `PAVED_ADVISORY_DB`, or
#: the one kept beside the repository (`<repo>/../shared`). Generated services are audited
#: against it when present, against the shipped advisories otherwise.
ADVISORY_DB = Path(
    os.environ.get("PAVED_ADVISORY_DB")
    or Path(__file__).resolve().parents[2] / "shared" / "data" / "pypa-advisory-db"
)

_SEPARATORS = re.compile(r"[-_.]+")


def _canonical(name: str) -> str:
    return _SEPARATORS.sub("-", name).lower()


def _jsonable(value: Any) -> Any:
    """YAML may load timestamps as datetimes; OSV JSON carries RFC 3339 strings."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _parse(version: str) -> Version | None:
    try:
        return Version(version)
    except InvalidVersion:
        return None


def _in_range(version: Version, events: list[Mapping[str, str]]) -> bool:
    """Evaluate one OSV ECOSYSTEM range: walk its events in version order."""
    ordered: list[tuple[Version, str]] = []
    for event in events:
        for kind, raw in event.items():
            parsed = _parse(str(raw))
            if parsed is not None:
                ordered.append((parsed, kind))
    affected = False
    for bound, kind in sorted(ordered, key=lambda pair: pair[0]):
        if kind == "introduced" and version >= bound:
            affected = True
        elif (kind == "fixed" and version >= bound) or (
            kind == "last_affected" and version > bound
        ):
            affected = False
    return affected


def _affects(advisory: Mapping[str, Any], name: str, version: str) -> bool:
    parsed = _parse(version)
    for affected in advisory.get("affected", []):
        package = affected.get("package", {})
        if package.get("ecosystem") != "PyPI" or _canonical(package.get("name", "")) != name:
            continue
        if version in affected.get("versions", []):
            return True
        if parsed is None:
            continue
        for range_ in affected.get("ranges", []):
            if range_.get("type") == "ECOSYSTEM" and _in_range(parsed, range_.get("events", [])):
                return True
    return False


_SUFFIXES = (".json", ".yaml")


def _load(path: Path) -> dict[str, Any]:
    """One advisory: OSV JSON, or the YAML encoding the PyPA database keeps."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        advisory: dict[str, Any] = json.loads(text)
        return advisory
    loaded: dict[str, Any] = _jsonable(yaml.load(text, Loader=yaml.CSafeLoader))
    return loaded


class AdvisoryStore:
    """The advisories of an OSV directory tree (`<package>/<id>.json|yaml`), read on demand.

    Only the packages that are queried are parsed, so the store starts in no time even over
    the whole PyPA database.
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._lock = threading.Lock()
        self._dirs: dict[str, Path] | None = None
        self._by_package: dict[str, list[dict[str, Any]]] = {}
        self.queried: list[tuple[str, str]] = []

    def _package_dirs(self) -> dict[str, Path]:
        if self._dirs is None:
            self._dirs = {_canonical(p.name): p for p in self._root.iterdir() if p.is_dir()}
        return self._dirs

    def advisories(self, name: str) -> list[dict[str, Any]]:
        """Every advisory filed under package `name` (any spelling of the name)."""
        key = _canonical(name)
        with self._lock:
            if key not in self._by_package:
                directory = self._package_dirs().get(key)
                files = sorted(directory.glob("*.*")) if directory else []
                self._by_package[key] = [_load(f) for f in files if f.suffix in _SUFFIXES]
            return self._by_package[key]

    def query(self, name: str, version: str) -> list[dict[str, Any]]:
        """The advisories affecting `name` at `version`, by explicit versions or ranges."""
        with self._lock:
            self.queried.append((_canonical(name), version))
        return [a for a in self.advisories(name) if _affects(a, _canonical(name), version)]

    def get(self, vuln_id: str) -> dict[str, Any] | None:
        """One advisory by id, or None."""
        if not re.fullmatch(r"[A-Za-z0-9._-]+", vuln_id):
            return None
        for path in self._root.glob(f"*/{vuln_id}.*"):
            for advisory in self.advisories(path.parent.name):
                if advisory.get("id") == vuln_id:
                    return advisory
        return None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base signature
        """Stay quiet: tests read the store's `queried` list instead."""

    def _send(self, status: HTTPStatus, body: Mapping[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length", "0"))
        return json.loads(self.rfile.read(length) or b"{}")

    @staticmethod
    def _package(query: Mapping[str, Any]) -> tuple[str, str] | None:
        package = query.get("package") or {}
        name, version = package.get("name"), query.get("version")
        if package.get("ecosystem", "PyPI") != "PyPI" or not name or not version:
            return None
        return str(name), str(version)

    def do_POST(self) -> None:
        store = self.server.store
        try:
            body = self._body()
        except ValueError:
            self._send(HTTPStatus.BAD_REQUEST, {"message": "body is not JSON"})
            return
        if self.path == "/v1/query":
            package = self._package(body)
            if package is None:
                self._send(HTTPStatus.BAD_REQUEST, {"message": "need package name and version"})
                return
            vulns = store.query(*package)
            self._send(HTTPStatus.OK, {"vulns": vulns} if vulns else {})
        elif self.path == "/v1/querybatch":
            results = []
            for query in body.get("queries", []):
                package = self._package(query)
                vulns = store.query(*package) if package else []
                results.append(
                    {"vulns": [{"id": v["id"], "modified": v.get("modified")} for v in vulns]}
                )
            self._send(HTTPStatus.OK, {"results": results})
        else:
            self._send(HTTPStatus.NOT_FOUND, {"message": f"no endpoint {self.path}"})

    def do_GET(self) -> None:
        prefix = "/v1/vulns/"
        advisory = (
            self.server.store.get(self.path[len(prefix) :])
            if self.path.startswith(prefix)
            else None
        )
        if advisory is None:
            self._send(HTTPStatus.NOT_FOUND, {"message": "Bug not found."})
        else:
            self._send(HTTPStatus.OK, advisory)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # pip-audit queries packages concurrently; on a busy machine the default backlog of 5
    # overflows and clients see connections closed without a response.
    request_queue_size = 128

    def __init__(self, store: AdvisoryStore) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.store = store


class OsvServer:
    """The service, bound to an ephemeral port on 127.0.0.1 and served from a thread."""

    def __init__(self, root: Path) -> None:
        self.store = AdvisoryStore(root)
        self._server = _Server(self.store)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL, as configured in `[tool.gates.deps] osv-url`."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@contextmanager
def serve(root: Path | None = None) -> Iterator[OsvServer]:
    """Run an `OsvServer` over `root` for the duration of the block.

    By default: the whole PyPA snapshot where there is one, else the shipped advisories.
    """
    if root is None:
        full = ADVISORY_DB / "vulns"
        root = full if full.is_dir() else SHIPPED_ADVISORIES
    if not root.is_dir():
        raise FileNotFoundError(f"no OSV advisories at {root}")
    server = OsvServer(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
