"""Human output on stderr: progress, pre-commit style status lines, findings; colour on a TTY."""

from __future__ import annotations

import os
import sys
from typing import TextIO

from ._result import GateResult, Status

__all__ = ["progress", "report", "summary_table"]

_WIDTH = 79
_COLOURS = {Status.PASSED: "32", Status.FAILED: "31", Status.ERROR: "33", Status.SKIPPED: "36"}
_LABELS = {
    Status.PASSED: "Passed",
    Status.FAILED: "Failed",
    Status.ERROR: "Error",
    Status.SKIPPED: "Skipped",
}


def _use_colour(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return stream.isatty()


def _paint(text: str, code: str, stream: TextIO) -> str:
    return f"\033[{code}m{text}\033[0m" if _use_colour(stream) else text


def progress(gate: str, message: str) -> None:
    """Say what a gate is doing now (which tool runs); long runs stay legible."""
    stream = sys.stderr
    print(_paint(f"{gate}: {message}", "2", stream), file=stream, flush=True)


def status_line(result: GateResult) -> str:
    """`lint......Passed`, like pre-commit; `coverage......(patch skipped)Passed` with skips."""
    label = _LABELS[result.status]
    note = ""
    if result.skipped and result.status is not Status.SKIPPED:
        note = f"({result.skipped_checks} skipped)"
    dots = "." * max(3, _WIDTH - len(result.gate) - len(note) - len(label))
    return f"{result.gate}{dots}{note}{_paint(label, _COLOURS[result.status], sys.stderr)}"


def report(result: GateResult) -> None:
    """Print the status line, what was skipped and why, then the summary and findings."""
    stream = sys.stderr
    print(status_line(result), file=stream)
    for skip in result.skipped:
        print(f"- skipped {skip.check}: {skip.reason}", file=stream)
    if result.passed and not result.findings:
        return
    if result.summary:
        print(f"- {result.summary}", file=stream)
    for finding in result.findings:
        where = f"{finding.location}: " if finding.location else ""
        print(f"- {where}{finding.id}: {finding.message}", file=stream)
    stream.flush()


def summary_table(results: list[GateResult]) -> None:
    """One table of every gate `gates all` ran."""
    stream = sys.stderr
    print("", file=stream)
    print(f"{'gate':<12} {'status':<8} {'findings':>8} {'time':>8}  skipped", file=stream)
    for result in results:
        status = _paint(f"{result.status.value:<8}", _COLOURS[result.status], stream)
        print(
            f"{result.gate:<12} {status} {len(result.findings):>8} {result.duration_s:>7.1f}s"
            f"  {result.skipped_checks}".rstrip(),
            file=stream,
        )
    stream.flush()
