"""pytest plugin of paved-gates: the `quarantine` marker, recorded into every test report."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the gate imports this module for its constant; pytest loads it as a plugin
    import pytest

__all__ = ["QUARANTINE_PROPERTY"]

#: The `user_properties` entry that carries a quarantined test's marker (JSON) to the reports.
QUARANTINE_PROPERTY = "paved.quarantine"


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker, so `--strict-markers` accepts it."""
    config.addinivalue_line(
        "markers",
        'quarantine(owner="team", expires="YYYY-MM-DD", reason="..."): a known flaky test, '
        "owned and time-boxed; the flake gate reports it without failing until it expires",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Copy each quarantine marker into the test's user properties (report log, JUnit XML).

    The marker is recorded as written; the flake gate validates it, so a malformed quarantine
    is a finding of the gate rather than an error that stops the suite.
    """
    for item in items:
        marker = item.get_closest_marker("quarantine")
        if marker is None:
            continue
        recorded = {key: str(value) for key, value in marker.kwargs.items()}
        if marker.args:
            recorded["args"] = ", ".join(str(arg) for arg in marker.args)
        item.user_properties.append((QUARANTINE_PROPERTY, json.dumps(recorded, sort_keys=True)))
