"""Gate `migrations`: models and migrations in sync, and a clean upgrade/downgrade round trip.

Everything runs through Alembic's own commands on a scratch database, never the service's:
`heads` (one line of history), `upgrade head`, `check` (autogenerate finds nothing left to
migrate), `downgrade base`, `upgrade head` again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ._config import Table
from ._proc import ToolRun, python_module, run_tool
from ._result import Finding, GateResult, Status
from ._scratch_database import displayed, scratch_database

__all__ = ["MigrationsConfig", "configure", "run"]

_GATE = "migrations"


@dataclass(frozen=True, kw_only=True)
class MigrationsConfig:
    """`[tool.gates.migrations]`."""

    #: Alembic configuration file, relative to the project.
    config: str = "alembic.ini"
    #: Environment variable the project's migrations read their database URL from.
    url_env: str = "DATABASE_URL"
    #: Scratch database; `{results}` is replaced by the results directory. A server URL names
    #: the server, on which the gate creates (and then drops) a database of its own.
    scratch_url: str = "sqlite+aiosqlite:///{results}/migrations-scratch.db"
    #: Environment variable that, when set, overrides `scratch_url` (CI points it elsewhere).
    scratch_url_env: str = ""


def configure(table: Table) -> MigrationsConfig:
    """Validate `[tool.gates.migrations]`."""
    defaults = MigrationsConfig()
    return MigrationsConfig(
        config=table.string("config", defaults.config),
        url_env=table.string("url-env", defaults.url_env),
        scratch_url=table.string("scratch-url", defaults.scratch_url),
        scratch_url_env=table.string("scratch-url-env", defaults.scratch_url_env),
    )


def run(*, config: MigrationsConfig, project: Path, results: Path) -> GateResult:
    """Run the round trip and the sync check on a fresh scratch database."""
    configured = os.environ.get(config.scratch_url_env or "") or config.scratch_url
    url = configured.replace("{results}", str(results.resolve()))
    with scratch_database(url, key="tool.gates.migrations.scratch-url") as scratch_url:
        findings, metrics = _check(config=config, project=project, url=scratch_url)
    return GateResult(
        gate=_GATE,
        status=Status.FAILED if findings else Status.PASSED,
        metrics=metrics,
        thresholds={"heads": 1.0, "in_sync": 1.0, "round_trip": 1.0},
        findings=tuple(findings),
        summary=f"scratch database: `{displayed(scratch_url)}`",
    )


def _check(
    *, config: MigrationsConfig, project: Path, url: str
) -> tuple[list[Finding], dict[str, float]]:
    """The findings and metrics of the history, sync and round-trip checks on `url`."""
    alembic = [*python_module("alembic"), "-c", config.config]

    def step(label: str, *args: str) -> ToolRun:
        return run_tool(
            [*alembic, *args],
            cwd=project,
            gate=_GATE,
            label=f"alembic {label}",
            env={config.url_env: url},
        )

    findings: list[Finding] = []
    heads = step("heads", "heads")
    head_count = len([line for line in heads.stdout.splitlines() if "(head)" in line])
    if heads.returncode != 0 or head_count != 1:
        findings.append(_heads_finding(heads, head_count))

    round_trip_ok = True
    in_sync = False
    for label, args in (
        ("upgrade head", ("upgrade", "head")),
        ("check", ("check",)),
        ("downgrade base", ("downgrade", "base")),
        ("upgrade head again", ("upgrade", "head")),
    ):
        done = step(label, *args)
        if label == "check":
            in_sync = done.returncode == 0
            if not in_sync:
                findings.append(_drift_finding(done))
            continue
        if done.returncode != 0:
            round_trip_ok = False
            findings.append(
                Finding(
                    id=f"{label.replace(' ', '-')}-failed",
                    message=f"`alembic {' '.join(args)}` failed:\n{done.tail()}",
                    path=config.config,
                )
            )
            break  # later steps would only repeat this failure

    metrics = {
        "heads": float(head_count),
        "in_sync": float(in_sync),
        "round_trip": float(round_trip_ok),
    }
    return findings, metrics


def _heads_finding(heads: ToolRun, count: int) -> Finding:
    if heads.returncode != 0:
        return Finding(id="heads-failed", message=f"`alembic heads` failed:\n{heads.tail()}")
    if count == 0:
        return Finding(id="no-migrations", message="no migration found: the history has no head")
    return Finding(
        id="multiple-heads",
        message=f"the history has {count} heads; merge them (`alembic merge heads`)",
    )


def _drift_finding(check: ToolRun) -> Finding:
    """Alembic's own words on what autogenerate would add (the models changed, no migration)."""
    detected = [line for line in check.tail(40).splitlines() if "detected" in line.lower()]
    message = detected[-1].strip() if detected else check.tail()
    return Finding(
        id="models-out-of-sync",
        message=f"models and migrations differ; add a migration (`make migration`): {message}",
    )
