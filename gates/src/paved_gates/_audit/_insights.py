"""Backstage Tech Insights facts about one service, in the shape a fact retriever returns.

`insights/<service>.json` holds one `TechInsightFact` of Backstage's tech-insights-node
package, which a fact retriever's handler can return unchanged (with `timestamp` parsed by
luxon's `DateTime.fromISO`)::

    {
      "entity": {"namespace": "default", "kind": "component", "name": "<catalog name>"},
      "timestamp": "2026-11-21T08:00:00+00:00",
      "facts": {"pavedReleasesBehind": 1, "pavedOnSupportedRelease": true, ...}
    }

`FACT_SCHEMA` is the retriever's `schema` (each fact's type and description). A fact the
audit could not establish (no readable answers file, an unknown commit) is left out rather
than guessed, so a check on it reports the fact as missing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from paved_gates._audit._model import ServiceAudit
from paved_gates._audit._summary import ServiceSummary

__all__ = ["FACT_SCHEMA", "entity_ref", "facts"]

#: The fact retriever's schema: each fact's Tech Insights type and description.
FACT_SCHEMA: dict[str, dict[str, str]] = {
    "pavedTemplateRelease": {
        "type": "string",
        "description": "paved release the service was generated or last updated from",
    },
    "pavedLatestRelease": {"type": "string", "description": "newest paved release"},
    "pavedReleasesBehind": {
        "type": "integer",
        "description": "paved releases newer than the service's",
    },
    "pavedDaysBehind": {
        "type": "integer",
        "description": "days between the service's paved release and the latest",
    },
    "pavedOnLatestRelease": {
        "type": "boolean",
        "description": "the service is on the newest paved release",
    },
    "pavedOnSupportedRelease": {
        "type": "boolean",
        "description": "the service's paved release is still supported",
    },
    "pavedEnforcedFilesEdited": {
        "type": "integer",
        "description": "template-owned (enforced) files that differ from the template",
    },
    "pavedEnforcedFilesDeleted": {
        "type": "integer",
        "description": "template-owned (enforced) files the service deleted",
    },
    "pavedEnforcedFilesStale": {
        "type": "integer",
        "description": "enforced files still as an older release rendered them",
    },
    "pavedEnforcedFilesExtra": {
        "type": "integer",
        "description": "files the service added inside template-owned folders",
    },
    "pavedGatesWeakened": {
        "type": "integer",
        "description": "quality gates switched off or relaxed against the template",
    },
    "pavedUpdateRisk": {
        "type": "string",
        "description": "predicted `copier update` to the latest release: none, low or high",
    },
    "pavedUpdateConflicts": {
        "type": "integer",
        "description": "files a `copier update` to the latest release would conflict on",
    },
    "pavedPolicyViolations": {
        "type": "integer",
        "description": "findings the platform team's audit policy counts as violations",
    },
    "pavedAuditProblems": {
        "type": "integer",
        "description": "things the audit could not read in the repository",
    },
    "pavedGateResults": {
        "type": "object",
        "description": "last status of each quality gate, by gate name",
    },
}


def entity_ref(name: str) -> dict[str, str]:
    """The catalog entity a service's facts belong to: `component:default/<name>`."""
    return {"namespace": "default", "kind": "component", "name": name}


def facts(service: ServiceAudit, *, timestamp: str | None = None) -> dict[str, Any]:
    """The Tech Insights fact set of `service`, taken at `timestamp` (ISO 8601; now if None)."""
    row = ServiceSummary.of(service)
    values: dict[str, Any] = {
        "pavedEnforcedFilesEdited": row.edited,
        "pavedEnforcedFilesDeleted": row.deleted,
        "pavedEnforcedFilesStale": row.stale,
        "pavedEnforcedFilesExtra": row.extra,
        "pavedGatesWeakened": row.weakened,
        "pavedPolicyViolations": row.violations,
        "pavedAuditProblems": row.problems,
        "pavedGateResults": dict(service.gate_results),
    }
    version = service.version
    if version is not None:
        values["pavedLatestRelease"] = version.latest
        values["pavedOnSupportedRelease"] = version.supported
        if version.release is not None:
            values["pavedTemplateRelease"] = version.release
        if version.releases_behind is not None:
            values["pavedReleasesBehind"] = version.releases_behind
            values["pavedOnLatestRelease"] = version.releases_behind == 0
        if version.days_behind is not None:
            values["pavedDaysBehind"] = version.days_behind
    if service.risk is not None:
        values["pavedUpdateRisk"] = service.risk.level
        values["pavedUpdateConflicts"] = len(service.risk.conflicts)
    return {
        "entity": entity_ref(service.name),
        "timestamp": timestamp or datetime.now(UTC).isoformat(timespec="seconds"),
        "facts": values,
    }
