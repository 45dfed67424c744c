"""A fleet audited across every core: the services, in a pool of worker processes."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections.abc import Sequence
from dataclasses import replace

from packaging.version import Version

from ._engine import Context, audit_service
from ._model import FleetAudit, ServiceAudit
from ._progress import Progress
from ._releases import History
from ._sources import ServiceSource

__all__ = ["audit_fleet", "merge_fleets"]

_context: Context | None = None


def audit_fleet(
    sources: Sequence[ServiceSource],
    context: Context,
    *,
    history: History | None,
    jobs: int | None = None,
    shard: str | None = None,
) -> FleetAudit:
    """Audit every source, `jobs` at a time (default: one per core), with progress on stderr.

    `history` is the template's when `--template` named one; without it the fleet's releases
    are those the services report.
    """
    jobs = jobs or os.cpu_count() or 1
    progress = Progress(len(sources), label="audit")
    services: list[ServiceAudit] = []
    if jobs == 1 or len(sources) < 2:
        for source in sources:
            services.append(audit_service(source, context))
            progress.advance()
    else:
        # Small chunks keep both cores busy to the end; each worker keeps its renders warm.
        chunk = max(1, min(16, len(sources) // (jobs * 8)))
        with multiprocessing.Pool(jobs, initializer=_init, initargs=(context,)) as pool:
            for service in pool.imap_unordered(_audit_one, sources, chunksize=chunk):
                services.append(service)
                progress.advance()
    return _fleet(services, context, history, shard)


def _init(context: Context) -> None:
    global _context  # noqa: PLW0603 (one context per worker process, set once)
    _context = context


def _audit_one(source: ServiceSource) -> ServiceAudit:
    assert _context is not None  # noqa: S101 (set by the pool's initializer)
    return audit_service(source, _context)


def _fleet(
    services: list[ServiceAudit], context: Context, history: History | None, shard: str | None
) -> FleetAudit:
    if history is not None:
        releases = tuple(release.name for release in history.releases)
        latest = history.latest.name
    else:
        named = {s.version.release for s in services if s.version and s.version.release}
        named |= {s.version.latest for s in services if s.version}
        releases = tuple(sorted(named, key=Version))
        latest = releases[-1] if releases else ""
    return FleetAudit(
        template=context.template or "each service's _src_path",
        latest=latest,
        releases=releases,
        generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        services=tuple(sorted(services, key=lambda s: (s.name, s.source))),
        shard=shard,
    )


def merge_fleets(parts: Sequence[FleetAudit]) -> FleetAudit:
    """One fleet from the audits of its shards.

    Raises:
        ValueError: the parts audited different templates or releases.
    """
    if not parts:
        raise ValueError("nothing to merge")
    first = parts[0]
    for part in parts[1:]:
        if (part.template, part.latest, part.releases) != (
            first.template,
            first.latest,
            first.releases,
        ):
            raise ValueError(
                f"shard {part.shard} audited {part.template} at {part.latest}, "
                f"shard {first.shard} {first.template} at {first.latest}"
            )
    services = {service.source: service for part in parts for service in part.services}
    return replace(
        first,
        shard=None,
        generated_at=max(part.generated_at for part in parts),
        services=tuple(sorted(services.values(), key=lambda s: (s.name, s.source))),
    )
