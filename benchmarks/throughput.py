"""Throughput of generated services next to a bare FastAPI app, same queries, same load.

For each database (SQLite, PostgreSQL) a default service (`jwt`, `otel`) is generated with its
post-copy task, migrated into a fresh database and started as production starts it: its own
entrypoint (`python -m <package>`, the Dockerfile's command), `ENVIRONMENT=production`,
tracing exported over OTLP/HTTP to a sink this benchmark runs on 127.0.0.1, rate limits raised
out of the way through settings (the middleware still runs). An administrator is created, a
token issued and items seeded. Beside it runs `benchmarks/bare_app.py` in the service's own
environment: FastAPI, uvicorn and the same driver running the same statements, with no
middleware, auth or telemetry, and the same number of uvicorn workers.

wrk sends both the same requests (GET item, list 20, POST create with a distinct
`Idempotency-Key` per request, health) in short rounds that alternate bare, service, bare,
service..., so the machine's noise hits both. Each round reports wrk's req/s, p50 and p99 and
errors (non-2xx/3xx statuses, socket errors and timeouts), and the server's CPU time per
request and RSS, summed over its processes from /proc; the tables give medians of the rounds.

Database round trips and spans per request are counted apart, in a counting instance of each
app that serves sequential requests (never in the timed rounds): on PostgreSQL through a TCP
proxy that counts client flights (a pipelined statement is one flight, as it is one wait),
on SQLite by a `sqlite3` trace callback installed with `sitecustomize` (statements, BEGIN and
COMMIT included: each is a hop to the driver's thread). Spans come from the OTLP sink.

A sustained-write round then runs creates for longer against a service whose idempotency
store has a bound the run fills (IDEMPOTENCY_MAX_BYTES), sampling its RSS, to show memory
levelling off.

    uv run python -m benchmarks.throughput             # full run, about 10 minutes
    uv run python -m benchmarks.throughput --quick     # a short one, for a smoke test
    uv run python -m benchmarks.throughput --readme    # also rewrite the figures in README.md

Needs `wrk` (`apt-get install wrk`) and PostgreSQL on 127.0.0.1:5432 (trust). `--vcs-ref`
measures another commit of the template; `--profile DIR` records py-spy flame data of the
service during its rounds (needs `py-spy` on PATH).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx

from benchmarks._load import (
    Load,
    OtlpSink,
    Server,
    ServerError,
    SpanTally,
    SqliteStatementCounter,
    TcpProxy,
    usage,
    wrk,
)
from benchmarks._timing import ROOT, clean_env, sh, subset_of
from tests._template import free_port

PACKAGE = "my_service"
ADMIN = ("bench@example.com", "bench-password-123456")
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
MARIADB_ADMIN = ("mariadb", "-h", "127.0.0.1", "-P", "3306", "-u", "root")
SEED_ITEMS = 60
ENDPOINTS = ("GET item", "list 20", "POST create", "health")
#: Databases whose round trips the benchmark can count (a TCP proxy, a SQLite trace).
DATABASES = ("sqlite", "postgresql")
APPS = ("bare", "service")
MIB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class Plan:
    """How long and how hard to measure."""

    rounds: int = 3
    seconds: float = 6
    warmup: float = 2
    connections: int = 32
    threads: int = 2
    workers: int = 2
    counted_requests: int = 100
    sustained_seconds: float = 30
    databases: tuple[str, ...] = ("sqlite", "postgresql")
    endpoints: tuple[str, ...] = ENDPOINTS
    vcs_ref: str = "HEAD"
    profile: Path | None = None
    prices: bool = False


QUICK = Plan(rounds=1, seconds=2, warmup=1, counted_requests=20, sustained_seconds=6)


# --- services and databases -----------------------------------------------------------------


def generate(
    database: str, where: Path, vcs_ref: str, *, cache: str = "none", auth: str = "jwt"
) -> Path:
    """`copier copy --trust` of the default service on `database`, post-copy task included.

    `cache` and `auth` change those answers; the directory's name says which it holds.
    """
    copier = str(Path(sys.executable).with_name("copier"))
    changed = [answer for answer, default in ((cache, "none"), (auth, "jwt")) if answer != default]
    dst = where / "-".join(["svc", database, *changed])
    sh(
        [
            *(copier, "copy", "--quiet", "--defaults", "--trust", "--vcs-ref", vcs_ref),
            *("-d", f"database={database}", "-d", f"cache={cache}", "-d", f"auth={auth}"),
            *(str(ROOT), str(dst)),
        ],
        ROOT,
    )
    return dst


@dataclass(frozen=True, kw_only=True)
class Database:
    """A fresh database: its SQLAlchemy URL (the service) and driver address (the bare app)."""

    kind: str
    url: str
    bare: str
    port: int | None = None

    def via(self, proxy_port: int) -> Database:
        """The same database reached through a proxy on `proxy_port`."""
        port = str(self.port)
        return replace(
            self,
            url=self.url.replace(f":{port}/", f":{proxy_port}/"),
            bare=self.bare.replace(f":{port}/", f":{proxy_port}/"),
        )


@contextmanager
def fresh_database(kind: str, work: Path) -> Iterator[Database]:
    """A new, empty database of `kind`, dropped (or deleted) afterwards."""
    if kind == "sqlite":
        path = work / f"bench-{uuid.uuid4().hex[:8]}.db"
        yield Database(kind=kind, url=f"sqlite+aiosqlite:///{path}", bare=str(path))
        return
    name = f"bench_{uuid.uuid4().hex[:12]}"
    if kind == "mysql":
        sh([*MARIADB_ADMIN, "-e", f"CREATE DATABASE {name}"], work)
        try:
            yield Database(
                kind=kind,
                url=f"mysql+aiomysql://root@127.0.0.1:3306/{name}?charset=utf8mb4",
                bare="",  # the bare app speaks SQLite and PostgreSQL only
                port=3306,
            )
        finally:
            sh([*MARIADB_ADMIN, "-e", f"DROP DATABASE IF EXISTS {name}"], work)
        return
    sh(["psql", PG_ADMIN, "-qc", f"CREATE DATABASE {name}"], work)
    try:
        yield Database(
            kind=kind,
            url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
            bare=f"postgresql://postgres@127.0.0.1:5432/{name}",
            port=5432,
        )
    finally:
        sh(["psql", PG_ADMIN, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], work)


def _venv_bin(service: Path, name: str) -> str:
    return str(service / ".venv" / "bin" / name)


def migrate(service: Path, database: Database) -> None:
    """`alembic upgrade head`, as the Kubernetes init container runs it."""
    env = {**clean_env(), "DATABASE_URL": database.url}
    done = subprocess.run(
        [_venv_bin(service, "alembic"), "upgrade", "head"],
        cwd=service,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"migration failed:\n{done.stdout}{done.stderr}")


def service_env(
    database: Database, *, sink: OtlpSink, workers: int, **extra: str
) -> dict[str, str]:
    """Production settings, as the Kubernetes manifests set them, with limits out of the way."""
    return {
        **clean_env(),
        "ENVIRONMENT": "production",
        "LOG_LEVEL": "INFO",
        "HOST": "127.0.0.1",
        "DATABASE_URL": database.url,
        "JWT_SECRET": "benchmark-" + "s" * 40,
        "ACCESS_TOKEN_TTL_SECONDS": "86400",
        "ADMIN_EMAIL": ADMIN[0],
        "ADMIN_PASSWORD": ADMIN[1],
        "OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint,
        "OTEL_SERVICE_NAME": "my-service",
        "RATE_LIMIT_PER_MINUTE": "100000000",
        "RATE_LIMIT_BURST": "10000000",
        "MAX_CONCURRENT_REQUESTS": "100000",
        "WEB_CONCURRENCY": str(workers),
        # No load balancer to drain from: each round's server stops at once.
        "SHUTDOWN_DRAIN_SECONDS": "0",
        **extra,
    }


def start_service(
    service: Path, env: dict[str, str], log: Path, name: str = "service", port: int | None = None
) -> Server:
    """The service's own entrypoint, the Dockerfile's `python -m <package>`."""
    port = port or free_port()
    return Server(
        name,
        [_venv_bin(service, "python"), "-m", PACKAGE],
        cwd=service,
        env={**env, "PORT": str(port)},
        port=port,
        log=log,
        ready_path="/readyz",
    )


@contextmanager
def ready_service(service: Path, env: dict[str, str], log: Path) -> Iterator[Server]:
    """The service, ready; one whose entrypoint refuses `WEB_CONCURRENCY` runs as it can.

    Releases before 0.3 run `uvicorn.run(app)`, which exits when asked for workers: the
    benchmark then measures what production gets, one process, and the report says so.
    """
    server = start_service(service, env, log)
    try:
        server.wait_ready()
    except ServerError as exc:
        if "import string" not in str(exc):
            raise
        _progress("the service refuses WEB_CONCURRENCY: measuring its single process")
        env = {k: v for k, v in env.items() if k != "WEB_CONCURRENCY"}
        server = start_service(service, env, log)
        server.wait_ready()
    with server:
        yield server


def start_bare(
    service: Path, database: Database, *, owner: str, workers: int, log: Path, **extra: str
) -> Server:
    """`benchmarks/bare_app.py` under uvicorn, in the service's environment."""
    port = free_port()
    args = [
        *(_venv_bin(service, "python"), "-m", "uvicorn", "bare_app:app"),
        *("--app-dir", str(ROOT / "benchmarks"), "--host", "127.0.0.1", "--port", str(port)),
        *("--workers", str(workers), "--no-access-log", "--log-level", "warning"),
    ]
    env = {**clean_env(), "BARE_DATABASE": database.bare, "BARE_OWNER_ID": owner, **extra}
    return Server("bare", args, cwd=service, env=env, port=port, log=log)


@dataclass(frozen=True, kw_only=True)
class Seeded:
    """What the loads need: a token, its subject, and an item of the subject."""

    token: str
    owner: str
    item_id: str


def seed(url: str) -> Seeded:
    """Sign in as the administrator and create `SEED_ITEMS` items through the API."""
    with httpx.Client(base_url=url, timeout=30) as http:
        answer = http.post("/v1/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]})
        answer.raise_for_status()
        token = answer.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        ids = []
        for n in range(SEED_ITEMS):
            created = http.post("/v1/items", json={"name": f"seed {n}"}, headers=auth)
            created.raise_for_status()
            ids.append(created.json()["id"])
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return Seeded(token=token, owner=claims["sub"], item_id=ids[0])


def loads(seeded: Seeded) -> dict[str, Load]:
    """The requests of each endpoint, the same for both apps."""
    auth = {"Authorization": f"Bearer {seeded.token}"}
    body = json.dumps({"name": "bench item", "description": "created under load"})
    return {
        "GET item": Load(path=f"/v1/items/{seeded.item_id}", headers=auth),
        "list 20": Load(path="/v1/items?limit=20", headers=auth),
        "POST create": Load(
            method="POST",
            path="/v1/items",
            headers={**auth, "Content-Type": "application/json"},
            body=body,
            idempotency_keys=True,
        ),
        "health": Load(path="/healthz"),
    }


# --- measurement ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Round:
    """One timed round of one app on one endpoint."""

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms_per_request: float
    rss_mib: float
    processes: int


def timed_round(server: Server, load: Load, plan: Plan, work: Path, seconds: float) -> Round:
    """One wrk round, with the server's CPU time and RSS sampled around it."""
    before = usage(server.pid)
    result = wrk(
        server.url,
        load,
        workdir=work,
        seconds=seconds,
        connections=plan.connections,
        threads=plan.threads,
    )
    after = usage(server.pid)
    return Round(
        rps=result.rps,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        errors=result.status_errors + result.socket_errors,
        cpu_ms_per_request=(after.cpu_seconds - before.cpu_seconds)
        * 1000
        / max(result.requests, 1),
        rss_mib=after.rss_bytes / MIB,
        processes=after.processes,
    )


@contextmanager
def profiling(server: Server, plan: Plan, endpoint: str, seconds: float) -> Iterator[None]:
    """Record py-spy samples of the server's processes during one round, if asked."""
    assert plan.profile is not None
    plan.profile.mkdir(parents=True, exist_ok=True)
    out = plan.profile / f"{server.name}-{server.pid}-{endpoint.replace(' ', '-')}.txt"
    spy = subprocess.Popen(
        [
            *("py-spy", "record", "--subprocesses", "--format", "raw", "--rate", "200"),
            *("-d", f"{max(1, int(seconds))}", "-o", str(out), "-p", str(server.pid)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        spy.wait(timeout=seconds + 30)


Results = dict[str, dict[str, list[Round]]]


def alternate(servers: dict[str, Server], seeded: Seeded, plan: Plan, work: Path) -> Results:
    """Rounds of each endpoint alternating between the apps; a warm-up round first, unkept.

    With `plan.profile`, the service's warm-up round lasts a whole round under py-spy, so
    the kept rounds are never slowed by the sampler.
    """
    results: Results = {endpoint: {app: [] for app in servers} for endpoint in plan.endpoints}
    requests = loads(seeded)
    for endpoint in plan.endpoints:
        for app, server in servers.items():
            if app == "service" and plan.profile is not None:
                with profiling(server, plan, endpoint, plan.seconds):
                    timed_round(server, requests[endpoint], plan, work, plan.seconds)
            else:
                timed_round(server, requests[endpoint], plan, work, plan.warmup)
        for _ in range(plan.rounds):
            for app, server in servers.items():
                kept = timed_round(server, requests[endpoint], plan, work, plan.seconds)
                results[endpoint][app].append(kept)
                _progress(f"{endpoint:<12} {app:<8} {kept.rps:8.0f} req/s p99 {kept.p99_ms:.1f} ms")
    return results


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


# --- counting -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Counted:
    """Per request, counted in a counting instance over sequential requests."""

    round_trips: float
    spans: float | None = None
    traces: float | None = None
    db_ms: float | None = None


def _send(http: httpx.Client, load: Load, n: int) -> None:
    headers = dict(load.headers)
    if load.idempotency_keys:
        headers["Idempotency-Key"] = f"count-{uuid.uuid4().hex}-{n}"
    answer = http.request(load.method, load.path, headers=headers, content=load.body)
    if answer.status_code >= 400:
        raise SystemExit(f"{load.method} {load.path} answered {answer.status_code}: {answer.text}")


def count_per_request(
    server: Server,
    requests: dict[str, Load],
    plan: Plan,
    counter: Callable[[], int],
    sink: OtlpSink | None,
) -> dict[str, Counted]:
    """Round trips (and spans, from the sink) per request of each endpoint, sequentially."""
    counted = {}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for endpoint in plan.endpoints:
            _send(http, requests[endpoint], 0)  # warms statement caches and the read cache
            time.sleep(0.5)
            if sink is not None:
                sink.reset(counting=True)
            start = counter()
            for n in range(plan.counted_requests):
                _send(http, requests[endpoint], n + 1)
            trips = (counter() - start) / plan.counted_requests
            time.sleep(1.0)  # the counting instance exports every 100 ms
            tally = sink.reset(counting=False) if sink is not None else SpanTally()
            per = plan.counted_requests
            counted[endpoint] = Counted(
                round_trips=trips,
                spans=tally.spans / per if sink else None,
                traces=sum(tally.roots.values()) / per if sink else None,
                db_ms=tally.client_seconds * 1000 / per if sink else None,
            )
    return counted


def count_all(
    service: Path, database: Database, seeded: Seeded, *, plan: Plan, work: Path, sink: OtlpSink
) -> dict[str, dict[str, Counted]]:
    """Counting instances of both apps, one worker each, through the counter of `database`."""
    requests = loads(seeded)
    counted: dict[str, dict[str, Counted]] = {}
    with ExitStack() as stack:
        if database.kind == "postgresql":
            assert database.port is not None
            proxy = stack.enter_context(TcpProxy(database.port))
            target, extra = database.via(proxy.port), {}

            def counter() -> int:
                return proxy.flights

        else:
            sqlite = SqliteStatementCounter(work)
            target, extra = database, sqlite.env()
            counter = sqlite.total
        for app in APPS:
            log = work / f"count-{database.kind}-{app}.log"
            if app == "bare":
                server = start_bare(
                    service, target, owner=seeded.owner, workers=1, log=log, **extra
                )
            else:
                env = service_env(target, sink=sink, workers=1, OTEL_BSP_SCHEDULE_DELAY="100")
                server = start_service(service, {**env, **extra}, log)
            with server:
                server.wait_ready()
                counted[app] = count_per_request(
                    server, requests, plan, counter, sink if app == "service" else None
                )
    return counted


# --- sustained writes -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Sustained:
    """RSS of a service under creates with distinct idempotency keys, sampled over time."""

    creates: int
    samples: list[tuple[float, float]]  # (seconds, RSS MiB)
    errors: int


#: The idempotency store's bound in the sustained round: small enough that the run fills it
#: (about 1.7 KB per create), so the RSS shows where it levels off.
SUSTAINED_BOUND = 2 * MIB


def sustained_writes(server: Server, seeded: Seeded, plan: Plan, work: Path) -> Sustained:
    """Creates for `plan.sustained_seconds`, in slices, with the RSS after each slice."""
    load = loads(seeded)["POST create"]
    slices = max(3, int(plan.sustained_seconds // 5))
    step = plan.sustained_seconds / slices
    samples = [(0.0, usage(server.pid).rss_bytes / MIB)]
    creates = errors = 0
    for n in range(1, slices + 1):
        result = wrk(
            server.url,
            load,
            workdir=work,
            seconds=step,
            connections=plan.connections,
            threads=plan.threads,
        )
        creates += result.requests
        errors += result.status_errors + result.socket_errors
        samples.append((n * step, usage(server.pid).rss_bytes / MIB))
    return Sustained(creates=creates, samples=samples, errors=errors)


# --- the price of each standard -------------------------------------------------------------

#: Settings that turn one standard off, or on where production leaves it off, to price it.
VARIANTS = {
    "tracing off (OTEL_TRACES_SAMPLER=always_off)": {"OTEL_TRACES_SAMPLER": "always_off"},
    "statement spans (OTEL_TRACE_SQL_STATEMENTS=true)": {"OTEL_TRACE_SQL_STATEMENTS": "true"},
    "access log off (LOG_LEVEL=WARNING)": {"LOG_LEVEL": "WARNING"},
    "rate limit off": {"RATE_LIMIT_PER_MINUTE": "0"},
    "user row on every request (AUTH_CACHE_SECONDS=0)": {"AUTH_CACHE_SECONDS": "0"},
    "OpenTelemetry's export batch (OTEL_BSP_MAX_EXPORT_BATCH_SIZE=512)": {
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "512"
    },
}
PRICED = ("GET item", "POST create")


@dataclass(frozen=True)
class Price:
    """What the default service spends over a variant on one endpoint, side by side."""

    cpu_ms: float  # CPU ms per request, default minus variant
    rps_ratio: float  # the default's req/s over the variant's
    p99_ms: tuple[float, float]  # the default's and the variant's


def prices(
    service: Path,
    database: Database,
    seeded: Seeded,
    *,
    plan: Plan,
    work: Path,
    sink: OtlpSink,
) -> dict[str, dict[str, Price]]:
    """CPU ms per request the default service spends over each variant, req/s ratio, p99s.

    Each variant runs beside a default instance started with it, so that neither has served
    more than the other (the main rounds' instance holds the idempotency keys and cached
    values those rounds left); their rounds alternate.
    """
    requests = loads(seeded)
    found: dict[str, dict[str, Price]] = {}
    env = service_env(database, sink=sink, workers=plan.workers)
    for name, overrides in VARIANTS.items():
        with (
            start_service(service, env, work / "default.log", name="default") as default,
            start_service(
                service, {**env, **overrides}, work / "variant.log", name="variant"
            ) as variant,
        ):
            default.wait_ready()
            variant.wait_ready()
            found[name] = {}
            for endpoint in PRICED:
                kept: dict[str, list[Round]] = {"default": [], "variant": []}
                for server in (default, variant):
                    timed_round(server, requests[endpoint], plan, work, plan.warmup)
                for _ in range(plan.rounds):
                    for key, server in (("default", default), ("variant", variant)):
                        kept[key].append(
                            timed_round(server, requests[endpoint], plan, work, plan.seconds)
                        )
                cpu = _median(kept["default"], "cpu_ms_per_request") - _median(
                    kept["variant"], "cpu_ms_per_request"
                )
                rps = _median(kept["default"], "rps") / _median(kept["variant"], "rps")
                p99 = (_median(kept["default"], "p99_ms"), _median(kept["variant"], "p99_ms"))
                found[name][endpoint] = Price(cpu, rps, p99)
                _progress(
                    f"{name}: {endpoint} {cpu:+.2f} ms/req, x{rps:.2f} req/s, "
                    f"p99 {p99[0]:.0f} / {p99[1]:.0f} ms"
                )
    return found


def prices_table(report: Report) -> str:
    """What each standard costs the service, per request."""
    lines = [
        (
            f"Price of each standard ({report.database}): CPU ms per request the default service "
            "spends over each variant (negative: the variant spends more), and the default's "
            "req/s over the variant's; p99 ms of the default / of the variant."
        ),
        "",
        "| variant | " + " | ".join(f"{e} CPU ms/req, req/s ratio, p99 ms" for e in PRICED) + " |",
        "|---|" + "---|" * len(PRICED),
    ]
    for name, by_endpoint in report.prices.items():
        cells = " | ".join(
            f"{p.cpu_ms:+.2f}, {p.rps_ratio:.2f}, {p.p99_ms[0]:.0f} / {p.p99_ms[1]:.0f}"
            for p in by_endpoint.values()
        )
        lines.append(f"| {name} | {cells} |")
    return "\n".join(lines)


# --- one database ---------------------------------------------------------------------------


@dataclass(kw_only=True)
class Report:
    """Everything measured on one database."""

    database: str
    workers: dict[str, int] = field(default_factory=dict)
    results: Results = field(default_factory=dict)
    counted: dict[str, dict[str, Counted]] = field(default_factory=dict)
    sustained: Sustained | None = None
    prices: dict[str, dict[str, Price]] = field(default_factory=dict)


def measure_database(kind: str, plan: Plan, work: Path, sink: OtlpSink) -> Report:
    """Generate, migrate, seed and measure one database's service and its bare twin."""
    _progress(f"{kind}: generating the service ({plan.vcs_ref})")
    service = generate(kind, work, plan.vcs_ref)
    report = Report(database=kind)
    with fresh_database(kind, work) as database:
        migrate(service, database)
        env = service_env(database, sink=sink, workers=plan.workers)
        with ready_service(service, env, work / f"{kind}-service.log") as svc:
            seeded = seed(svc.url)
            bare = start_bare(
                service,
                database,
                owner=seeded.owner,
                workers=plan.workers,
                log=work / f"{kind}-bare.log",
            )
            with bare:
                bare.wait_ready()
                servers = {"bare": bare, "service": svc}
                report.results = alternate(servers, seeded, plan, work)
                report.workers = {app: usage(s.pid).processes for app, s in servers.items()}
            if kind == plan.databases[-1]:
                _progress(f"{kind}: sustained writes for {plan.sustained_seconds:g} s")
                small = {"IDEMPOTENCY_MAX_BYTES": str(SUSTAINED_BOUND)}
                with ready_service(
                    service, {**env, **small}, work / f"{kind}-sustained.log"
                ) as bounded:
                    report.sustained = sustained_writes(bounded, seeded, plan, work)
            if plan.prices:
                report.prices = prices(service, database, seeded, plan=plan, work=work, sink=sink)
        _progress(f"{kind}: counting round trips and spans")
        report.counted = count_all(service, database, seeded, plan=plan, work=work, sink=sink)
    return report


# --- report ---------------------------------------------------------------------------------


def _median(rounds: Sequence[Round], attr: str) -> float:
    return float(statistics.median(getattr(r, attr) for r in rounds))


def _pair(rounds: dict[str, list[Round]], attr: str, fmt: str) -> str:
    return " / ".join(format(_median(rounds[app], attr), fmt) for app in APPS)


def table(report: Report, plan: Plan) -> str:
    """The Markdown table of one database: medians of the rounds, service over bare."""
    title = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[report.database]
    trips = "statements" if report.database == "sqlite" else "round trips"
    lines = [
        (
            f"{title}: processes bare / service {report.workers.get('bare')} / "
            f"{report.workers.get('service')} (uvicorn workers plus supervisor); wrk "
            f"-t{plan.threads} -c{plan.connections}, {plan.rounds} alternated rounds of "
            f"{plan.seconds:g} s, medians."
        ),
        "",
        (
            f"| endpoint | bare req/s | service req/s | ratio | p50 ms | p99 ms | errors "
            f"| CPU ms/req | DB {trips}/req | RSS MiB |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for endpoint in plan.endpoints:
        rounds = report.results[endpoint]
        bare, svc = (_median(rounds[app], "rps") for app in APPS)
        trips_pair = " / ".join(
            f"{report.counted[app][endpoint].round_trips:.1f}" if report.counted else "-"
            for app in APPS
        )
        errors = " / ".join(str(sum(r.errors for r in rounds[app])) for app in APPS)
        lines.append(
            f"| {endpoint} | {bare:.0f} | {svc:.0f} | {svc / bare:.2f} "
            f"| {_pair(rounds, 'p50_ms', '.1f')} | {_pair(rounds, 'p99_ms', '.1f')} "
            f"| {errors} | {_pair(rounds, 'cpu_ms_per_request', '.2f')} | {trips_pair} "
            f"| {_pair(rounds, 'rss_mib', '.0f')} |"
        )
    lines.append("")
    lines.append("Pairs read bare / service. Tracing of the service, per request:")
    lines.append("")
    lines.append("| endpoint | spans | traces | DB time in spans, ms |")
    lines.append("|---|---|---|---|")
    for endpoint in plan.endpoints:
        c = report.counted["service"][endpoint]
        lines.append(f"| {endpoint} | {c.spans:.1f} | {c.traces:.2f} | {c.db_ms:.2f} |")
    return "\n".join(lines)


def sustained_table(report: Report, plan: Plan) -> str:
    """RSS of the service over sustained creates."""
    assert report.sustained is not None
    s = report.sustained
    points = ", ".join(f"{t:.0f} s: {rss:.0f}" for t, rss in s.samples)
    growth = (s.samples[-1][1] - s.samples[0][1]) * MIB / max(s.creates, 1)
    return (
        f"Sustained creates ({report.database}, {plan.workers} workers, distinct "
        f"`Idempotency-Key` each, `IDEMPOTENCY_MAX_BYTES={SUSTAINED_BOUND}` so that the run "
        f"fills the store): {s.creates} creates in {plan.sustained_seconds:g} s, "
        f"{s.errors} errors; service RSS in MiB at {points}; "
        f"{growth:.0f} bytes of RSS per create over the run."
    )


def render(reports: Sequence[Report], plan: Plan) -> str:
    """The whole Markdown report."""
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    head = (
        f"Measured on {when} at template `{plan.vcs_ref}`, on this machine "
        f"({os.cpu_count()} cores, shared; load average {os.getloadavg()[0]:.1f} at the end)."
    )
    parts = [head, *(table(r, plan) for r in reports)]
    parts += [sustained_table(r, plan) for r in reports if r.sustained is not None]
    parts += [prices_table(r) for r in reports if r.prices]
    return "\n\n".join(parts) + "\n"


START, END = "<!-- throughput:start -->", "<!-- throughput:end -->"


def write_readme(markdown: str, start: str = START, end: str = END) -> None:
    """Replace the figures between two markers (the throughput ones) of benchmarks/README.md."""
    readme = ROOT / "benchmarks" / "README.md"
    text = readme.read_text(encoding="utf-8")
    before, _, rest = text.partition(start)
    _, _, after = rest.partition(end)
    readme.write_text(f"{before}{start}\n{markdown}{end}{after}", encoding="utf-8")


def command_line() -> argparse.ArgumentParser:
    """The options; a name it does not know is a usage error that lists the choices."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short round per endpoint")
    parser.add_argument("--databases", type=subset_of(DATABASES), default=DATABASES)
    parser.add_argument("--endpoints", type=subset_of(ENDPOINTS), default=ENDPOINTS)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--vcs-ref", default="HEAD")
    parser.add_argument("--profile", type=Path, help="write py-spy raw samples here")
    parser.add_argument("--readme", action="store_true", help="write the figures to README.md")
    parser.add_argument(
        "--prices",
        action="store_true",
        help="price each standard (about 1.5 min per variant and database)",
    )
    return parser


def plan_of(args: argparse.Namespace) -> Plan:
    """What to measure, from the parsed command line."""
    plan = replace(
        QUICK if args.quick else Plan(),
        databases=args.databases,
        endpoints=args.endpoints,
        workers=args.workers,
        vcs_ref=args.vcs_ref,
        profile=args.profile,
        prices=args.prices,
    )
    if args.rounds:
        plan = replace(plan, rounds=args.rounds)
    if args.seconds:
        plan = replace(plan, seconds=args.seconds)
    return plan


def main(argv: Sequence[str] | None = None) -> None:
    """Measure and print the tables."""
    args = command_line().parse_args(argv)
    plan = plan_of(args)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    with tempfile.TemporaryDirectory(prefix="paved-throughput-") as tmp, OtlpSink() as sink:
        work = Path(tmp)
        reports = [measure_database(kind, plan, work, sink) for kind in plan.databases]
    markdown = render(reports, plan)
    print(markdown)
    if args.readme:
        write_readme(markdown)


if __name__ == "__main__":
    main()
