"""pytest-reportlog files read into test and collection reports, for the tests and flake gates."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._pytest_plugin import QUARANTINE_PROPERTY

__all__ = ["Report", "read"]


@dataclass(frozen=True, kw_only=True)
class Report:
    """One `TestReport` (a phase of a test) or a `CollectReport` (`when` is "collect")."""

    nodeid: str
    when: str
    outcome: str
    #: The file of the test and its 1-based line (None for collection reports).
    path: str
    line: int | None
    #: The non-blank lines of what went wrong: the crash message, else the whole report.
    text: tuple[str, ...]
    #: The line that failed when it is in the test's own file, else None.
    crash_line: int | None
    #: The test's `quarantine` marker as the paved-gates plugin recorded it, if any.
    quarantine: Mapping[str, str] | None

    @property
    def collection(self) -> bool:
        return self.when == "collect"

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"


def read(path: Path) -> Iterator[Report]:
    """The test and collection reports of a report log, in order; none when it is missing."""
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as log:
        for line in log:
            entry = json.loads(line) if line.strip() else None
            if not isinstance(entry, dict):
                continue
            kind = entry.get("$report_type")
            if kind in ("TestReport", "CollectReport"):
                yield _report(entry, collection=kind == "CollectReport")


def _report(entry: Mapping[str, Any], *, collection: bool) -> Report:
    nodeid = str(entry.get("nodeid", ""))
    path = nodeid.split("::", 1)[0]
    line = None
    location = entry.get("location")
    if not collection and isinstance(location, list) and len(location) == 3:
        path = str(location[0])
        line = location[1] + 1 if isinstance(location[1], int) else None
    longrepr = entry.get("longrepr")
    crash: Mapping[str, Any] = {}
    text = ""
    if isinstance(longrepr, Mapping):
        crash = longrepr.get("reprcrash") or {}
        text = str(crash.get("message") or longrepr.get("longrepr") or "")
    elif longrepr:
        text = str(longrepr)
    crash_line = crash.get("lineno")
    in_test_file = bool(path) and str(crash.get("path", "")).endswith(path)
    quarantine = None
    for name, value in entry.get("user_properties") or ():
        if name == QUARANTINE_PROPERTY:
            quarantine = json.loads(value)
    return Report(
        nodeid=nodeid,
        when="collect" if collection else str(entry.get("when", "")),
        outcome=str(entry.get("outcome", "")),
        path=path,
        line=line,
        text=tuple(s for s in text.strip().splitlines() if s.strip()),
        crash_line=crash_line if in_test_file and isinstance(crash_line, int) else None,
        quarantine=quarantine,
    )
