"""Load and faults: generated services under storms, overload, a cut database and SIGTERM.

Each service (SQLite without Redis, PostgreSQL with Redis, MariaDB without) is generated with
its post-copy task, migrated into a fresh database, seeded, and started as production starts
it (`benchmarks/throughput.py` does all of that), on 127.0.0.1 only. Every scenario starts its
own instance for a bounded time, with asynchronous httpx clients:

- login storm: clients sign in over and over, the shipped rate limits in force (readiness
  must stay 200);
- pool exhaustion: a pool of 2 connections under creates and reads;
- 400 clients: creates and reads at 400 connections, also with the former bound (256);
- database cut: the database reached through a TCP proxy that cuts every link for a third of
  the run, then restores it (server databases only);
- SIGTERM under load: the service is stopped mid-run and started again on the same port.

Clients retry a create that timed out or met a 503, 429, 409 or a dropped connection, with the
same `Idempotency-Key`, a few times. Afterwards every item is listed through the API:
acknowledged writes lost are 201s whose item is not there, duplicates are creates stored
twice. `/readyz` is polled every 100 ms: the time from the fault to its first 503 (or no answer),
and to recovery, its first 200 after the fault ends (for SIGTERM: from the signal, through the
drain and a new start).

    uv run --locked python -m benchmarks.faults            # 15 s per scenario
    uv run --locked python -m benchmarks.faults --quick    # 8 s per scenario
    uv run --locked python -m benchmarks.faults --readme   # also rewrite benchmarks/README.md

Needs PostgreSQL (5432), MariaDB (3306) and Redis (6379) on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from benchmarks._load import OtlpSink, Server, Tally, TcpProxy
from benchmarks.throughput import (
    ADMIN,
    Database,
    Seeded,
    fresh_database,
    generate,
    migrate,
    seed,
    service_env,
    start_service,
    write_readme,
)
from tests._template import free_port

#: Answers after which a client sends the same create again, with the same key.
RETRYABLE = ("timeout", "error", "429", "409", "503")
RETRIES = 4
REQUEST_TIMEOUT = 5.0


@dataclass(frozen=True, kw_only=True)
class Plan:
    """How long and how hard."""

    seconds: float = 15
    clients: int = 32
    crowd: int = 400
    repeat: int = 1
    vcs_ref: str = "HEAD"


QUICK = Plan(seconds=8)


@dataclass(frozen=True, kw_only=True)
class Spec:
    """A service to generate: its database and whether it has Redis."""

    database: str
    redis: bool

    @property
    def name(self) -> str:
        """What the table calls it."""
        return f"{self.database}{' + redis' if self.redis else ''}"


SPECS = (
    Spec(database="sqlite", redis=False),
    Spec(database="postgresql", redis=True),
    Spec(database="mysql", redis=False),
)


@dataclass(frozen=True, kw_only=True)
class Row:
    """What one scenario showed."""

    requests: int
    statuses: Counter[str]
    p50_ms: float
    p99_ms: float
    lost: int = 0
    duplicates: int = 0
    to_unready_s: float | None = None
    to_recovery_s: float | None = None


# --- a running service ----------------------------------------------------------------------


@dataclass(kw_only=True)
class Context:
    """A generated, migrated and seeded service, and how to start instances of it."""

    spec: Spec
    service: Path
    database: Database
    sink: OtlpSink
    work: Path
    seeded: Seeded | None = None
    prefix: str = field(default_factory=lambda: f"faults-{uuid.uuid4().hex[:8]}:")

    def env(self, database: Database | None = None, /, **extra: str) -> dict[str, str]:
        """Production settings, rate limits out of the way, admission as shipped."""
        env = service_env(database or self.database, sink=self.sink, workers=2, **extra)
        env.pop("MAX_CONCURRENT_REQUESTS")
        if self.spec.redis:
            env |= {"REDIS_URL": "redis://127.0.0.1:6379/0", "REDIS_KEY_PREFIX": self.prefix}
        return {**env, "IDEMPOTENCY_TTL_SECONDS": "900", **extra}

    def start(self, env: dict[str, str], port: int | None = None) -> Server:
        """An instance, ready."""
        server = start_service(self.service, env, self.work / "faults.log", port=port)
        server.wait_ready()
        return server

    @property
    def auth(self) -> dict[str, str]:
        """The administrator's `Authorization` header."""
        assert self.seeded is not None
        return {"Authorization": f"Bearer {self.seeded.token}"}


def client(url: str, connections: int) -> httpx.AsyncClient:
    """An HTTP client with a connection per simulated client."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT, limits=limits)


async def create(http: httpx.AsyncClient, tally: Tally, ctx: Context, key: str) -> str | None:
    """Create an item named `key`, retrying with the same key; the id if a 201 came back."""
    for attempt in range(RETRIES + 1):
        label, answer = await tally.send(
            http,
            "POST",
            "/v1/items",
            json={"name": key},
            headers={**ctx.auth, "Idempotency-Key": key},
        )
        if answer is not None and answer.status_code == 201:
            return str(answer.json()["id"])
        if not label.startswith(RETRYABLE) or attempt == RETRIES:
            return None
        await asyncio.sleep(0.2 * (attempt + 1))
    return None


async def mixed_load(
    url: str, ctx: Context, *, clients: int, seconds: float, tally: Tally, acked: dict[str, str]
) -> None:
    """`clients` clients alternating a create (retried) and a read, for `seconds`."""
    assert ctx.seeded is not None
    read = f"/v1/items/{ctx.seeded.item_id}"
    stop_at = time.monotonic() + seconds
    run = uuid.uuid4().hex[:8]

    async def one(n: int) -> None:
        i = 0
        while time.monotonic() < stop_at:
            if i % 2 == 0:
                key = f"{run}-{n}-{i}"
                if (item := await create(http, tally, ctx, key)) is not None:
                    acked[key] = item
            else:
                await tally.send(http, "GET", read, headers=ctx.auth)
            i += 1

    async with client(url, clients) as http:
        await asyncio.gather(*(one(n) for n in range(clients)))


async def stored_names(url: str, ctx: Context) -> Counter[str]:
    """Every item's name, through the API, page by page."""
    names: Counter[str] = Counter()
    cursor: str | None = None
    async with client(url, 1) as http:
        while True:
            params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
            page = await _page(http, params, ctx)
            names.update(item["name"] for item in page["items"])
            if not (cursor := page["next_cursor"]):
                return names


async def _page(http: httpx.AsyncClient, params: dict[str, str], ctx: Context) -> Any:  # noqa: ANN401
    """One page of the listing; a service still recovering from a fault is asked again."""
    for _ in range(40):
        answer = await http.get("/v1/items", params=params, headers=ctx.auth)
        if answer.status_code == 200:
            return answer.json()
        await asyncio.sleep(0.5)
    raise RuntimeError(f"the items listing kept failing: {answer.status_code} {answer.text}")


async def audit(url: str, ctx: Context, acked: dict[str, str]) -> tuple[int, int]:
    """Acknowledged creates missing, and creates stored more than once."""
    names = await stored_names(url, ctx)
    lost = sum(1 for key in acked if names[key] == 0)
    duplicates = sum(count - 1 for name, count in names.items() if count > 1)
    return lost, duplicates


def row(tally: Tally, **figures: int | float | None) -> Row:
    """A row from what the clients saw."""
    return Row(
        requests=tally.requests,
        statuses=tally.statuses,
        p50_ms=tally.percentile(0.5) * 1000,
        p99_ms=tally.percentile(0.99) * 1000,
        **figures,  # type: ignore[arg-type]
    )


class Readiness:
    """`/readyz` polled every 100 ms in a thread: when it last answered 200 or not."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.events: list[tuple[float, bool]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        with httpx.Client(base_url=self.url, timeout=1) as http:
            while not self._stop.wait(0.1):
                try:
                    ready = http.get("/readyz").status_code == 200
                except httpx.HTTPError:
                    ready = False
                self.events.append((time.monotonic(), ready))

    def first(self, *, ready: bool, after: float) -> float | None:
        """Seconds from `after` to the first poll with that outcome."""
        return next((t - after for t, r in self.events if t >= after and r is ready), None)

    def __enter__(self) -> Readiness:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# --- scenarios ------------------------------------------------------------------------------


def login_storm(ctx: Context, plan: Plan) -> Row:
    """Clients signing in over and over, with the shipped rate limits (one address).

    `/readyz` is polled throughout: a storm of sign-ins must not make the instance look down.
    """
    env = {k: v for k, v in ctx.env().items() if not k.startswith("RATE_LIMIT")}
    tally = Tally()
    form = {"username": ADMIN[0], "password": ADMIN[1]}

    async def storm(url: str) -> None:
        stop_at = time.monotonic() + plan.seconds

        async def one() -> None:
            while time.monotonic() < stop_at:
                await tally.send(http, "POST", "/v1/auth/token", data=form)

        async with client(url, plan.clients) as http:
            await asyncio.gather(*(one() for _ in range(plan.clients)))

    with ctx.start(env) as server, Readiness(server.url) as readiness:
        started = time.monotonic()
        asyncio.run(storm(server.url))
    return row(tally, to_unready_s=readiness.first(ready=False, after=started))


def _mixed(ctx: Context, plan: Plan, clients: int, **extra: str) -> Row:
    tally, acked = Tally(), dict[str, str]()
    with ctx.start(ctx.env(**extra)) as server:

        async def run() -> tuple[int, int]:
            await mixed_load(
                server.url, ctx, clients=clients, seconds=plan.seconds, tally=tally, acked=acked
            )
            return await audit(server.url, ctx, acked)

        lost, duplicates = asyncio.run(run())
    return row(tally, lost=lost, duplicates=duplicates)


def pool_exhaustion(ctx: Context, plan: Plan) -> Row:
    """Creates and reads from 64 clients on a pool of 2 connections per process."""
    return _mixed(ctx, plan, 64, DB_POOL_SIZE="2")


def crowd(ctx: Context, plan: Plan) -> Row:
    """Creates and reads from 400 clients, admission as shipped."""
    return _mixed(ctx, plan, plan.crowd)


def crowd_former_bound(ctx: Context, plan: Plan) -> Row:
    """The same crowd with the former fixed bound of 256 requests per process."""
    return _mixed(ctx, plan, plan.crowd, MAX_CONCURRENT_REQUESTS="256")


def database_cut(ctx: Context, plan: Plan) -> Row:
    """Every database link cut for the middle third of the run, then restored."""
    assert ctx.database.port is not None
    tally, acked = Tally(), dict[str, str]()
    with TcpProxy(ctx.database.port) as proxy:
        env = ctx.env(ctx.database.via(proxy.port))
        with ctx.start(env) as server, Readiness(server.url) as readiness:
            third = plan.seconds / 3

            async def run() -> tuple[float, float]:
                load = asyncio.create_task(
                    mixed_load(
                        server.url,
                        ctx,
                        clients=plan.clients,
                        seconds=plan.seconds,
                        tally=tally,
                        acked=acked,
                    )
                )
                await asyncio.sleep(third)
                cut_at = time.monotonic()
                await asyncio.to_thread(proxy.cut)
                await asyncio.sleep(third)
                restored_at = time.monotonic()
                await asyncio.to_thread(proxy.restore)
                await load
                return cut_at, restored_at

            cut_at, restored_at = asyncio.run(run())
            lost, duplicates = asyncio.run(audit(server.url, ctx, acked))
            recovered = readiness.first(ready=True, after=restored_at)
            unready = readiness.first(ready=False, after=cut_at)
    return row(
        tally, lost=lost, duplicates=duplicates, to_unready_s=unready, to_recovery_s=recovered
    )


def sigterm(ctx: Context, plan: Plan) -> Row:
    """SIGTERM halfway through a run; the service starts again on the same port."""
    tally, acked = Tally(), dict[str, str]()
    port = free_port()
    env = ctx.env()
    servers = [ctx.start(env, port=port)]
    url = servers[0].url
    with Readiness(url) as readiness:

        def restart() -> None:
            servers[0].stop()
            servers.append(ctx.start(env, port=port))

        async def run() -> float:
            load = asyncio.create_task(
                mixed_load(
                    url, ctx, clients=plan.clients, seconds=plan.seconds, tally=tally, acked=acked
                )
            )
            await asyncio.sleep(plan.seconds / 2)
            stopped_at = time.monotonic()
            await asyncio.to_thread(restart)
            await load
            return stopped_at

        try:
            stopped_at = asyncio.run(run())
            lost, duplicates = asyncio.run(audit(url, ctx, acked))
        finally:
            for server in servers:
                server.stop()
    unready = readiness.first(ready=False, after=stopped_at)
    recovered = readiness.first(ready=True, after=stopped_at + (unready or 0))
    return row(
        tally, lost=lost, duplicates=duplicates, to_unready_s=unready, to_recovery_s=recovered
    )


Scenario = Callable[[Context, Plan], Row]
SCENARIOS: dict[str, Scenario] = {
    "login storm": login_storm,
    "pool exhaustion": pool_exhaustion,
    "400 clients": crowd,
    "400 clients (former bound 256)": crowd_former_bound,
    "database cut": database_cut,
    "SIGTERM under load": sigterm,
}


def applies(name: str, spec: Spec) -> bool:
    """Whether a scenario means anything for this service."""
    return not (name == "database cut" and spec.database == "sqlite")


# --- one service, the report ----------------------------------------------------------------


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


@contextmanager
def prepared(spec: Spec, plan: Plan, work: Path, sink: OtlpSink) -> Iterator[Context]:
    """The service of `spec`: generated, migrated into a fresh database and seeded."""
    _progress(f"{spec.name}: generating the service ({plan.vcs_ref})")
    service = generate(spec.database, work, plan.vcs_ref, cache="redis" if spec.redis else "none")
    with fresh_database(spec.database, work) as database:
        migrate(service, database)
        ctx = Context(spec=spec, service=service, database=database, sink=sink, work=work)
        with ctx.start(ctx.env()) as server:
            ctx.seeded = seed(server.url)
        yield ctx


def median_row(rows: Sequence[Row]) -> Row:
    """The median of each figure over repeats (status counts: the median repeat's)."""

    def med(values: Sequence[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return statistics.median(known) if known else None

    middle = sorted(rows, key=lambda r: r.p99_ms)[len(rows) // 2]
    return replace(
        middle,
        p50_ms=statistics.median(r.p50_ms for r in rows),
        p99_ms=statistics.median(r.p99_ms for r in rows),
        lost=max(r.lost for r in rows),
        duplicates=max(r.duplicates for r in rows),
        to_unready_s=med([r.to_unready_s for r in rows]),
        to_recovery_s=med([r.to_recovery_s for r in rows]),
    )


Results = dict[tuple[str, str], Row]


def measure(specs: Sequence[Spec], names: Sequence[str], plan: Plan, work: Path) -> Results:
    """Every scenario that applies, on every service, `plan.repeat` times."""
    results: Results = {}
    with OtlpSink() as sink:
        for spec in specs:
            with prepared(spec, plan, work, sink) as ctx:
                for name in names:
                    if not applies(name, spec):
                        continue
                    rows = []
                    for _ in range(plan.repeat):
                        rows.append(SCENARIOS[name](ctx, plan))
                        _progress(f"{spec.name}: {name}: {_statuses(rows[-1].statuses)}")
                    results[spec.name, name] = median_row(rows)
    return results


def _statuses(counts: Counter[str]) -> str:
    return ", ".join(f"{label} {n}" for label, n in sorted(counts.items()))


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def render(results: Results, plan: Plan, started: float) -> str:
    """The Markdown table."""
    head = (
        f"Template `{plan.vcs_ref}`; {plan.seconds:g} s per scenario, {plan.clients} clients "
        f"unless named, 2 worker processes, {plan.repeat} run(s) per scenario (medians); "
        f"whole run {time.monotonic() - started:.0f} s on this machine ({os.cpu_count()} cores, "
        f"shared with other work and with the clients; load average {os.getloadavg()[0]:.1f} "
        "at the end)."
    )
    lines = [
        head,
        "",
        (
            "| service | scenario | requests | answers | timeouts | p50 ms | p99 ms "
            "| writes lost | duplicates | to 503 s | to recovery s |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (service, name), r in results.items():
        lines.append(
            f"| {service} | {name} | {r.requests} | {_statuses(r.statuses)} "
            f"| {r.statuses['timeout']} | {r.p50_ms:.0f} | {r.p99_ms:.0f} | {r.lost} "
            f"| {r.duplicates} | {_seconds(r.to_unready_s)} | {_seconds(r.to_recovery_s)} |"
        )
    return "\n".join(lines) + "\n"


START, END = "<!-- faults:start -->", "<!-- faults:end -->"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scenarios and print the table; exit 1 if a write was lost or duplicated."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter scenarios")
    parser.add_argument("--databases", default="sqlite,postgresql,mysql")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--vcs-ref", default="HEAD")
    parser.add_argument("--readme", action="store_true", help="write the table to README.md")
    args = parser.parse_args(argv)
    plan = replace(QUICK if args.quick else Plan(), repeat=args.repeat, vcs_ref=args.vcs_ref)
    wanted = args.databases.split(",")
    specs = [spec for spec in SPECS if spec.database in wanted]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="paved-faults-") as tmp:
        results = measure(specs, args.scenarios.split(","), plan, Path(tmp))
    markdown = render(results, plan, started)
    print(markdown)
    if args.readme:
        write_readme(markdown, START, END)
    return int(any(r.lost or r.duplicates for r in results.values()))


if __name__ == "__main__":
    sys.exit(main())
