"""The `quarantine` marker as recorded in test reports: who owns a flaky test, and until when."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ._pytest_plugin import QUARANTINE_PROPERTY

__all__ = ["Quarantine", "from_user_properties", "parse"]


@dataclass(frozen=True, kw_only=True)
class Quarantine:
    """A quarantine marker; `problem` is "" when it is well-formed."""

    owner: str
    expires: dt.date | None
    reason: str
    problem: str

    def holds_on(self, today: dt.date) -> bool:
        """Well-formed and not expired: the test's failures are known and owned."""
        return not self.problem and self.expires is not None and today <= self.expires


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


def from_user_properties(properties: Iterable[tuple[str, str]]) -> Quarantine | None:
    """The quarantine a test report's `user_properties` carry, if any."""
    for name, value in properties:
        if name == QUARANTINE_PROPERTY:
            return parse(json.loads(value))
    return None
