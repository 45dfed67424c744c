"""`gates audit` and `gates audit-merge`: audit the fleet, or fold shards, and write the reports."""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import tempfile
from pathlib import Path

from .._errors import ConfigError
from ._engine import Context
from ._fleet import audit_fleet, merge_fleets
from ._model import FleetAudit
from ._policy import load_policy
from ._releases import History
from ._reports import read_fleet, write_reports
from ._sources import ServiceSource, discover, from_manifest, from_paths, local_path, shard
from ._summary import FleetTotals, ServiceSummary

__all__ = ["run"]

_SHARD = re.compile(r"^(\d+)/(\d+)$")


def run(args: argparse.Namespace) -> int:
    """Run `audit` or `audit-merge`; return the exit code (0 within policy, 1 violations)."""
    if args.command == "audit-merge":
        return _merge(args)
    return _audit(args)


def _audit(args: argparse.Namespace) -> int:
    shard_spec = _shard(args.shard)
    policy = load_policy(args.policy)
    sources = _sources(args)
    with tempfile.TemporaryDirectory(prefix="gates-audit-") as cache:
        history = None
        if args.template:
            repo = _template_repo(args.template, Path(cache))
            history = History(repo, args.template)
        if shard_spec:
            sources = shard(sources, *shard_spec)
        context = Context(
            template=args.template,
            cache=Path(cache),
            today=dt.datetime.now(dt.UTC).date(),
            policy=policy,
        )
        label = f"{shard_spec[0]}/{shard_spec[1]}" if shard_spec else None
        fleet = audit_fleet(sources, context, history=history, jobs=args.jobs, shard=label)
    return _report(fleet, args.output)


def _shard(spec: str | None) -> tuple[int, int] | None:
    if spec is None:
        return None
    match = _SHARD.match(spec)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise ConfigError(message=f"--shard {spec}: expected I/N with 1 <= I <= N, e.g. 2/8")
    return int(match[1]), int(match[2])


def _sources(args: argparse.Namespace) -> list[ServiceSource]:
    sources = from_paths(args.repos)
    if args.manifest:
        sources += from_manifest(args.manifest)
    if args.discover:
        sources += discover(args.discover)
    if not (args.repos or args.manifest or args.discover):
        raise ConfigError(message="name the services: REPO..., --manifest FILE or --discover DIR")
    unique = {source.location: source for source in sources}
    return list(unique.values())


def _template_repo(source: str, cache: Path) -> Path:
    try:
        repo = local_path(ServiceSource(location=source), cache)
    except OSError as exc:
        raise ConfigError(message=f"--template {source}: {exc}") from None
    if not repo.exists():
        raise ConfigError(message=f"--template {source}: does not exist")
    return repo


def _report(fleet: FleetAudit, output: Path) -> int:
    write_reports(fleet, output)
    totals = FleetTotals.of(ServiceSummary.of(service) for service in fleet.services)
    print(  # noqa: T201 - the one-line summary a person running the audit reads
        f"audit: {totals.services} services: {totals.on_latest} on {fleet.latest}, "
        f"{totals.behind} behind, {totals.enforced_edits} with enforced edits, "
        f"{totals.weakened} with weakened gates, {totals.problems} not fully read; "
        f"{totals.violations} outside policy. Reports in {output}/",
        file=sys.stderr,
    )
    return 1 if fleet.violations else 0


def _merge(args: argparse.Namespace) -> int:
    paths = [Path(part) for part in args.parts]
    files = [path / "audit.json" if path.is_dir() else path for path in paths]
    try:
        fleet = merge_fleets([read_fleet(path) for path in files])
    except ValueError as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(message=f"cannot merge: {exc}") from None
    return _report(fleet, args.output)
