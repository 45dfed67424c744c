"""Figures every report shows: counts per service and fleet totals, derived once from the model."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from paved_gates._audit._model import FileState, ServiceAudit

__all__ = ["TOTALS", "FleetTotals", "ServiceSummary"]

#: Fleet totals in the order the reports show them, with their labels ("N services <label>").
TOTALS: tuple[tuple[str, str], ...] = (
    ("services", "services"),
    ("on_latest", "on the latest release"),
    ("behind", "behind the latest release"),
    ("unsupported", "on an unsupported release"),
    ("version_unknown", "on an unknown release"),
    ("enforced_edits", "with enforced files edited, deleted or added"),
    ("weakened", "with weakened gates"),
    ("conflicts", "with update conflicts predicted"),
    ("violations", "violating the policy"),
    ("problems", "the audit could not fully read"),
)


@dataclass(frozen=True, kw_only=True)
class ServiceSummary:
    """One service in figures: a row of the reports' tables."""

    name: str
    team: str | None
    release: str | None
    behind: int | None  # releases behind the latest; None when unknown
    days_behind: int | None
    supported: bool | None  # None when the audit could not read the version
    edited: int
    deleted: int
    stale: int
    extra: int
    weakened: int  # `gates.*` findings
    risk: str  # UpdateRisk.level, or "unknown"
    conflicts: int
    violations: int  # `policy.*` findings
    problems: int  # `input.*` findings

    @classmethod
    def of(cls, service: ServiceAudit) -> ServiceSummary:
        """Count what the audit found about `service`."""
        states = [status.state for status in service.files]
        categories = [issue.category for issue in service.issues]
        version = service.version
        return cls(
            name=service.name,
            team=service.team,
            release=version.release if version else None,
            behind=version.releases_behind if version else None,
            days_behind=version.days_behind if version else None,
            supported=version.supported if version else None,
            edited=states.count(FileState.EDITED),
            deleted=states.count(FileState.DELETED),
            stale=states.count(FileState.STALE),
            extra=states.count(FileState.EXTRA),
            weakened=categories.count("gates"),
            risk=service.risk.level if service.risk else "unknown",
            conflicts=len(service.risk.conflicts) if service.risk else 0,
            violations=categories.count("policy"),
            problems=categories.count("input"),
        )

    @property
    def enforced_edits(self) -> int:
        """Enforced paths a team changed: edited, deleted, or added to an enforced folder."""
        return self.edited + self.deleted + self.extra

    @property
    def needs_attention(self) -> bool:
        """Anything short of pristine and on the latest release."""
        clean = (
            self.behind == 0
            and self.supported is not False
            and not (self.enforced_edits or self.stale or self.weakened)
            and not (self.conflicts or self.violations or self.problems)
        )
        return not clean

    @property
    def severity(self) -> tuple[int, ...]:
        """Sort key, worst first: violations, weakened gates, edits, conflicts, lag."""
        behind = -1 if self.behind is None else self.behind
        return (
            -self.violations,
            -self.problems,
            -self.weakened,
            -self.enforced_edits,
            -self.conflicts,
            -behind,
            -self.stale,
        )

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class FleetTotals:
    """How many services fall under each of `TOTALS`."""

    services: int
    on_latest: int
    behind: int
    unsupported: int
    version_unknown: int
    enforced_edits: int
    weakened: int
    conflicts: int
    violations: int
    problems: int

    @classmethod
    def of(cls, summaries: Iterable[ServiceSummary]) -> FleetTotals:
        rows = list(summaries)
        return cls(
            services=len(rows),
            on_latest=sum(row.behind == 0 for row in rows),
            behind=sum(row.behind is not None and row.behind > 0 for row in rows),
            unsupported=sum(row.supported is False for row in rows),
            version_unknown=sum(row.behind is None for row in rows),
            enforced_edits=sum(row.enforced_edits > 0 for row in rows),
            weakened=sum(row.weakened > 0 for row in rows),
            conflicts=sum(row.conflicts > 0 for row in rows),
            violations=sum(row.violations > 0 for row in rows),
            problems=sum(row.problems > 0 for row in rows),
        )

    def labelled(self) -> list[tuple[str, str, int]]:
        """`(key, label, count)` in the order of `TOTALS`."""
        return [(key, label, getattr(self, key)) for key, label in TOTALS]
