"""The `quarantine` marker as recorded in test reports: who owns a flaky test, and until when."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Quarantine", "parse", "utc_today"]


def utc_today() -> dt.date:
    """Today in UTC: a quarantine (and a waiver) holds through its expiry day, UTC."""
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True, kw_only=True)
class Quarantine:
    """A quarantine marker; `problem` is "" when it is well-formed."""

    owner: str
    expires: dt.date | None
    reason: str
    problem: str

    def expired(self, today: dt.date) -> bool:
        """Past its expiry day (a quarantine without a valid expiry is invalid, not expired)."""
        return self.expires is not None and today > self.expires

    def holds(self, today: dt.date) -> bool:
        """Well-formed and not expired: the test's failures are known and owned."""
        return not self.problem and self.expires is not None and not self.expired(today)


def parse(recorded: Mapping[str, str]) -> Quarantine:
    """Validate a recorded marker: it needs an owner and an ISO expiry date."""
    owner = recorded.get("owner", "").strip()
    raw_expiry = recorded.get("expires", "").strip()
    try:
        expires: dt.date | None = dt.date.fromisoformat(raw_expiry)
    except ValueError:
        expires = None
    problems = []
    if not owner:
        problems.append('owner="team"')
    if expires is None:
        problems.append(f'expires="YYYY-MM-DD" (got {raw_expiry!r})' if raw_expiry else "expires")
    problem = f"quarantine needs {' and '.join(problems)}" if problems else ""
    return Quarantine(
        owner=owner, expires=expires, reason=recorded.get("reason", "").strip(), problem=problem
    )
