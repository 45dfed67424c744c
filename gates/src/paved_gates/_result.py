"""The result of one gate run, and its on-disk forms (JSON and Markdown)."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

__all__ = ["Finding", "GateResult", "Skip", "Status", "gates_version"]


class Status(enum.StrEnum):
    """Outcome of a gate; the CLI exits 0 for passed and skipped, 1 for failed, 3 for error."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    #: The gate could judge nothing (every check it has was skipped, or none is configured).
    SKIPPED = "skipped"


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One reason a gate failed (or a notable observation): an id, a message, a place."""

    id: str
    message: str
    path: str = ""
    line: int | None = None

    @property
    def location(self) -> str:
        """`path:line`, `path`, or "" when the finding has no place."""
        if self.path and self.line is not None:
            return f"{self.path}:{self.line}"
        return self.path

    def as_dict(self) -> dict[str, str | int]:
        """`id`, `message`, `path`, and `line` when the finding points into a file."""
        data: dict[str, str | int] = {"id": self.id, "message": self.message, "path": self.path}
        if self.line is not None:
            data["line"] = self.line
        return data


@dataclass(frozen=True, kw_only=True)
class Skip:
    """A check a gate did not make, and why (`patch`: "base `origin/main` does not exist")."""

    check: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"check": self.check, "reason": self.reason}


@dataclass(frozen=True, kw_only=True)
class GateResult:
    """What a gate decided, with the figures and thresholds it decided on."""

    gate: str
    status: Status
    metrics: Mapping[str, float] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    #: Checks not made; a passed gate with skips judged only the rest.
    skipped: tuple[Skip, ...] = ()
    duration_s: float = 0.0
    summary: str = ""

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED

    @property
    def skipped_checks(self) -> str:
        """The skipped checks' names, `patch, zizmor` ("" when none)."""
        return ", ".join(skip.check for skip in self.skipped)

    def as_dict(self) -> dict[str, Any]:
        """The result file's schema (see docs/gates.md)."""
        return {
            "gate": self.gate,
            "status": self.status.value,
            "metrics": dict(self.metrics),
            "thresholds": dict(self.thresholds),
            "findings": [f.as_dict() for f in self.findings],
            "skipped": [skip.as_dict() for skip in self.skipped],
            "duration_s": round(self.duration_s, 3),
            "gates_version": gates_version(),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=True) + "\n"

    def to_markdown(self) -> str:
        """A short human summary, also appended to $GITHUB_STEP_SUMMARY."""
        icon = _ICONS[self.status]
        lines = [f"### {icon} gate `{self.gate}`: {self.status.value}", ""]
        if self.summary:
            lines += [self.summary, ""]
        if self.skipped:
            lines += [f"- skipped `{skip.check}`: {skip.reason}" for skip in self.skipped]
            lines.append("")
        if self.metrics:
            lines += ["| metric | value | threshold |", "|---|---|---|"]
            for name, value in sorted(self.metrics.items()):
                threshold = self.thresholds.get(name)
                shown = "" if threshold is None else f"{threshold:g}"
                lines.append(f"| {name} | {value:g} | {shown} |")
            lines.append("")
        for finding in self.findings:
            where = f" (`{finding.location}`)" if finding.location else ""
            lines.append(f"- **{finding.id}**{where}: {finding.message}")
        return "\n".join(lines).rstrip() + "\n"

    def write(self, directory: Path) -> Path:
        """Write `<gate>.json` and `<gate>.md` into `directory`; return the JSON path."""
        directory.mkdir(parents=True, exist_ok=True)
        json_path = directory / f"{self.gate}.json"
        json_path.write_text(self.to_json(), encoding="utf-8")
        (directory / f"{self.gate}.md").write_text(self.to_markdown(), encoding="utf-8")
        return json_path


_ICONS = {Status.PASSED: "✅", Status.FAILED: "❌", Status.ERROR: "⚠️", Status.SKIPPED: "⏭️"}


def gates_version() -> str:
    """The installed paved-gates version, which is the template release it came with."""
    return version("paved-gates")
