"""Load harness: servers on 127.0.0.1, wrk rounds, HTTP tallies, /proc samples, OTLP sink, proxy.

Shared by the benchmarks that drive generated services under load. Everything binds to
127.0.0.1 on free ports, every wait is bounded, and every process a `Server` starts runs in a
session of its own, so stopping it stops its workers too.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from tests._template import free_port

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def drain(into: Any) -> subprocess.Popen[bytes]:  # noqa: ANN401 - a file, or DEVNULL
    """A `cat` copying a pipe into `into`; give its stdin to a server as the server's stdout.

    A container runtime reads a container's stdout through a pipe, and a write to a pipe
    costs the writer more than a write to a file does. Close the returned process's stdin
    once the server has it, and wait for the process after the server has exited.
    """
    return subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=into)


# --- processes -------------------------------------------------------------------------------


def process_tree(root: int) -> list[int]:
    """`root` and every live descendant of it, from the parent ids in /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


@dataclass(frozen=True, kw_only=True)
class Usage:
    """CPU time and resident memory of a process tree at one instant."""

    cpu_seconds: float
    rss_bytes: int
    processes: int


def usage(root: int) -> Usage:
    """User plus system CPU time and RSS, summed over `root`'s process tree."""
    cpu, rss, count = 0.0, 0, 0
    for pid in process_tree(root):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue  # exited between the listing and the read
        cpu += (int(stat[11]) + int(stat[12])) / _CLOCK_TICKS
        rss += next(
            (int(line.split()[1]) * 1024 for line in status.splitlines() if line[:6] == "VmRSS:"),
            0,
        )
        count += 1
    return Usage(cpu_seconds=cpu, rss_bytes=rss, processes=count)


class ServerError(RuntimeError):
    """A server exited or never became ready; the message carries the tail of its log."""


class Server:
    """A server process in a session of its own, logging to a file, stopped with SIGTERM.

    Its stdout is a pipe that `cat` drains into the file (`drain`), as in a container.

    Args:
        name: What the reports call it.
        args: The command.
        cwd: Where it runs.
        env: Its whole environment.
        port: The port it serves on 127.0.0.1.
        log: Where its stdout and stderr go.
        ready_path: Polled until it answers 200.
    """

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        port: int,
        log: Path,
        ready_path: str = "/healthz",
    ) -> None:
        self.name = name
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self._ready = self.url + ready_path
        self._log_file = log.open("ab")
        self._drain = drain(self._log_file)
        assert self._drain.stdin is not None
        self.proc = subprocess.Popen(
            list(args),
            cwd=cwd,
            env=dict(env),
            stdout=self._drain.stdin,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._drain.stdin.close()  # the server's processes hold the pipe's only writing end

    @property
    def pid(self) -> int:
        """The process id of the server's main process."""
        return self.proc.pid

    def tail(self, chars: int = 4000) -> str:
        """The end of the server's log."""
        return self.log.read_bytes()[-chars:].decode(errors="replace")

    def wait_ready(self, timeout: float = 90) -> float:
        """Poll the readiness path; return the seconds it took.

        Raises:
            ServerError: The process exited, or did not answer 200 within `timeout`.
        """
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.proc.poll() is not None:
                raise ServerError(f"{self.name} exited {self.proc.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(self._ready, timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return time.monotonic() - start
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        self.stop()
        raise ServerError(f"{self.name} was not ready within {timeout:.0f} s:\n{self.tail()}")

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM the session, wait up to `timeout`, then SIGKILL; return the exit code."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        try:
            self._drain.wait(timeout=10)  # the server's last lines, once its processes are gone
        except subprocess.TimeoutExpired:
            self._drain.kill()
        self._log_file.close()
        return self.proc.returncode

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


# --- wrk ------------------------------------------------------------------------------------

#: Emits wrk's summary as one JSON line, so nothing depends on wrk's human output format.
_DONE = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""

#: A request function that gives every request its own `Idempotency-Key`, across threads.
_KEYED = """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end
local sent = 0
function request()
  sent = sent + 1
  wrk.headers["Idempotency-Key"] = string.format("%s-%d-%d", RUN, thread_id, sent)
  return wrk.format()
end
"""


@dataclass(frozen=True, kw_only=True)
class Load:
    """One kind of request wrk sends over and over."""

    method: str = "GET"
    path: str = "/"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None
    #: Give each request a distinct `Idempotency-Key` (a Lua `request()` per request).
    idempotency_keys: bool = False

    def lua(self, run: str) -> str:
        """The wrk script of this load; `run` prefixes the idempotency keys."""
        lines = [f"wrk.method = {json.dumps(self.method)}", f"wrk.path = {json.dumps(self.path)}"]
        lines += [
            f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in self.headers.items()
        ]
        if self.body is not None:
            lines.append(f"wrk.body = {json.dumps(self.body)}")
        if self.idempotency_keys:
            lines += [f"RUN = {json.dumps(run)}", _KEYED]
        return "\n".join(lines) + "\n" + _DONE


@dataclass(frozen=True, kw_only=True)
class WrkResult:
    """wrk's summary of one round."""

    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    status_errors: int
    socket_errors: int

    @property
    def rps(self) -> float:
        """Requests completed per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def wrk(
    url: str,
    load: Load,
    *,
    workdir: Path,
    seconds: float,
    connections: int = 32,
    threads: int = 2,
    timeout_s: float = 5,
) -> WrkResult:
    """Run wrk against `url` with `load` for `seconds`; non-2xx/3xx count as status errors."""
    run = f"r{time.monotonic_ns()}"
    script = workdir / f"{run}.lua"
    script.write_text(load.lua(run))
    args = [
        "wrk",
        *("-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s"),
        *("--timeout", f"{timeout_s:g}s", "-s", str(script), url),
    ]
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=seconds + timeout_s + 30, check=False
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line.removeprefix("WRK_JSON "))
    return WrkResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        status_errors=raw["status"],
        socket_errors=raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
    )


# --- async HTTP clients ---------------------------------------------------------------------


@dataclass
class Tally:
    """What clients saw: answers by label, latencies, and the requests that timed out.

    A label is the status code, with the problem's `code` for a 503 (`503 overloaded` is shed
    before any work, `503 database_unavailable` after some), `timeout` or `error` (refused,
    reset: no answer).
    """

    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    async def send(
        self,
        http: httpx.AsyncClient,
        method: str,
        path: str,
        **kwargs: Any,  # noqa: ANN401
    ) -> tuple[str, httpx.Response | None]:
        """Send one request; count and time its outcome; return its label and answer."""
        start = time.monotonic()
        answer: httpx.Response | None = None
        try:
            answer = await http.request(method, path, **kwargs)
            label = str(answer.status_code)
            if answer.status_code == 503:
                label += " " + str(_problem_code(answer))
        except httpx.TimeoutException:
            label = "timeout"
        except httpx.TransportError:
            label = "error"
        self.latencies.append(time.monotonic() - start)
        self.statuses[label] += 1
        return label, answer

    @property
    def requests(self) -> int:
        """Requests sent."""
        return len(self.latencies)

    def percentile(self, q: float) -> float:
        """The `q` quantile (0-1) of the latencies, in seconds; 0 with none."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _problem_code(answer: httpx.Response) -> object:
    try:
        return answer.json().get("code", "?")
    except ValueError:
        return "?"


# --- OTLP sink ------------------------------------------------------------------------------


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """The (field number, value) pairs of one protobuf message, without its schema."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        wire = key & 7
        value: int | bytes
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire in {1, 5}:
            size = 8 if wire == 1 else 4
            value, i = buf[i : i + size], i + size
        elif wire == 2:
            size, i = _varint(buf, i)
            value, i = buf[i : i + size], i + size
        else:
            raise ValueError(f"protobuf wire type {wire} is not expected in OTLP")
        yield key >> 3, value


def _nested(buf: bytes, number: int) -> Iterator[bytes]:
    for key, value in _fields(buf):
        if key == number and isinstance(value, bytes):
            yield value


_CLIENT_KIND = 3  # opentelemetry.proto.trace.v1.Span.SpanKind.SPAN_KIND_CLIENT


@dataclass
class SpanTally:
    """What an OTLP sink received: spans, traces (root spans) by name, client span time."""

    posts: int = 0
    spans: int = 0
    roots: Counter[str] = field(default_factory=Counter)
    client_spans: int = 0
    client_seconds: float = 0.0

    def add(self, request: bytes) -> None:
        """Count the spans of one `ExportTraceServiceRequest`."""
        self.posts += 1
        for resource_spans in _nested(request, 1):
            for scope_spans in _nested(resource_spans, 2):
                for span in _nested(scope_spans, 2):
                    self._span(dict(_fields(span)))

    def _span(self, fields: dict[int, int | bytes]) -> None:
        self.spans += 1
        if not fields.get(4):  # no parent_span_id: the root of a trace
            self.roots[bytes(fields.get(5, b"")).decode()] += 1
        if fields.get(6) == _CLIENT_KIND:
            start = int.from_bytes(bytes(fields.get(7, b"")), "little")
            end = int.from_bytes(bytes(fields.get(8, b"")), "little")
            self.client_spans += 1
            self.client_seconds += (end - start) / 1e9


class OtlpSink:
    """A local OTLP/HTTP trace receiver: answers every export 200, optionally counts spans.

    Counting parses protobuf in this process, which costs CPU the servers under load would
    feel; throughput rounds leave it off, so the sink only reads and drops the bodies, as a
    collector on another machine costs the service nothing but the export itself.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.counting = False
        self.tally = SpanTally()
        self.bytes_received = 0
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as a collector's receiver: the exporter reuses its connection.
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                sink.received(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class names it)
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        """The value of `OTEL_EXPORTER_OTLP_ENDPOINT` that points a service here."""
        return f"http://127.0.0.1:{self.port}"

    def received(self, body: bytes) -> None:
        """Account for one export request."""
        with self._lock:
            self.bytes_received += len(body)
            if self.counting:
                self.tally.add(body)

    def reset(self, *, counting: bool) -> SpanTally:
        """Start a new tally (counting or not); return the previous one."""
        with self._lock:
            previous, self.tally, self.counting = self.tally, SpanTally(), counting
        return previous

    def __enter__(self) -> OtlpSink:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- TCP proxy ------------------------------------------------------------------------------


class TcpProxy:
    """A TCP proxy on 127.0.0.1 that counts round trips and can cut or freeze the link.

    A round trip is a client flight: bytes from the client after the server last spoke (or
    at the start), however many segments carry them. With PostgreSQL's extended protocol a
    pipelined Parse/Bind/Execute/Sync is one flight, as it is one wait for the client.

    `cut()` closes every connection and refuses new ones; `freeze()` keeps connections open
    but forwards nothing (a database that hangs); `restore()` forwards again.
    """

    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1") -> None:
        self.port = free_port()
        self.target = (target_host, target_port)
        self.flights = 0
        self.connections = 0
        self._mode = "forward"
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._resumed = asyncio.Event()
        self._server: asyncio.Server | None = None

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        state: list[str],
        side: str,
    ) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                while self._mode == "freeze":
                    await self._resumed.wait()
                if side == "client" and state[0] != "client":
                    self.flights += 1
                state[0] = side
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _accept(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        if self._mode == "cut":
            client_writer.close()
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        self.connections += 1
        self._writers |= {client_writer, server_writer}
        state = ["server"]
        await asyncio.gather(
            self._pump(client_reader, server_writer, state, "client"),
            self._pump(server_reader, client_writer, state, "server"),
        )
        self._writers -= {client_writer, server_writer}

    def _call(self, work: Coroutine[object, object, None]) -> None:
        asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=10)

    async def _set_mode(self, mode: str) -> None:
        self._mode = mode
        if mode == "cut":
            for writer in list(self._writers):
                writer.close()
        if mode == "freeze":
            self._resumed.clear()
        else:
            self._resumed.set()

    def cut(self) -> None:
        """Close every proxied connection and refuse new ones."""
        self._call(self._set_mode("cut"))

    def freeze(self) -> None:
        """Hold every byte in both directions, as a hung server does."""
        self._call(self._set_mode("freeze"))

    def restore(self) -> None:
        """Forward again."""
        self._call(self._set_mode("forward"))

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _stop(self) -> None:
        await self._set_mode("cut")
        if self._server is not None:
            self._server.close()

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self._call(self._start())
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


# --- SQLite statement counter ---------------------------------------------------------------

#: Installed as `sitecustomize` in a counting instance only: every `sqlite3` connection traces
#: its statements (BEGIN and COMMIT included) into a per-process count, written to a file.
_SQLITE_COUNTER = '''\
"""Count the SQLite statements this process runs (a benchmark's counting instance only)."""
import itertools, os, sqlite3, threading, time

_counter = itertools.count(1)
_seen = [0]
_connect = sqlite3.connect


def _trace(statement):
    _seen[0] = next(_counter)


def _traced(*args, **kwargs):
    connection = _connect(*args, **kwargs)
    connection.set_trace_callback(_trace)
    return connection


def _report(path):
    partial = path.with_suffix(".partial")
    while True:  # written aside and renamed: a reader never sees a half-written count
        partial.write_text(str(_seen[0]))
        os.replace(partial, path)
        time.sleep(0.05)


sqlite3.connect = _traced
_out = os.environ["BENCH_SQL_COUNT_DIR"]
threading.Thread(
    target=_report, args=(__import__("pathlib").Path(_out, str(os.getpid())),), daemon=True
).start()
'''


class SqliteStatementCounter:
    """Counts the SQLite statements of every process started with `env()` in its environment."""

    def __init__(self, workdir: Path) -> None:
        self._site = workdir / "sqlite-counter"
        self._out = workdir / "sqlite-counts"
        self._site.mkdir(parents=True, exist_ok=True)
        self._out.mkdir(parents=True, exist_ok=True)
        (self._site / "sitecustomize.py").write_text(_SQLITE_COUNTER)

    def env(self) -> dict[str, str]:
        """Environment variables that install the counter in a Python process."""
        return {"PYTHONPATH": str(self._site), "BENCH_SQL_COUNT_DIR": str(self._out)}

    def total(self) -> int:
        """Statements counted so far, over every counted process (reports lag by 50 ms)."""
        time.sleep(0.15)
        return sum(int(p.read_text()) for p in self._out.iterdir() if not p.suffix)
