"""Progress of a long audit on stderr: done/total, rate and time left."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Counts finished items and reports at most once per `interval` seconds, and at the end."""

    def __init__(self, total: int, *, label: str, stream: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        self._label = label
        self._stream = stream or sys.stderr
        self._started = time.monotonic()
        self._shown = self._started
        self.interval = 1.0

    def advance(self, count: int = 1) -> None:
        """Record `count` more finished items."""
        self.done += count
        now = time.monotonic()
        if self.done >= self.total or now - self._shown >= self.interval:
            self._shown = now
            print(self.line(now), file=self._stream, flush=True)

    def line(self, now: float) -> str:
        """`audit: 120/1000 services, 45.2/s, about 19 s left`."""
        elapsed = max(now - self._started, 1e-9)
        rate = self.done / elapsed
        text = f"{self._label}: {self.done}/{self.total} services, {rate:.1f}/s"
        if self.done >= self.total:
            return f"{text}, done in {elapsed:.1f} s"
        left = (self.total - self.done) / rate if rate else float("inf")
        return f"{text}, about {left:.0f} s left"
