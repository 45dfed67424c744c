"""`audit.md`: the fleet audit summed up for an issue or a pull request comment."""

from __future__ import annotations

import html
import re
from collections import Counter

from paved_gates._audit._model import FleetAudit
from paved_gates._audit._summary import FleetTotals, ServiceSummary

__all__ = ["COMMENT_LIMIT", "markdown"]

#: GitHub refuses an issue or comment body longer than this many characters.
COMMENT_LIMIT = 65536
_BUDGET = COMMENT_LIMIT - 4096  # room for the lines after the table
_MAX_ROWS = 50  # a comment is read, not searched: the HTML report has every service
_CELL = 48  # longest service or team name shown in full
_MARKUP = re.compile(r"([\\`*_\[\]|~])")
_COLUMNS = (
    "service",
    "team",
    "release",
    "behind",
    "edited",
    "deleted",
    "stale",
    "extra",
    "weakened gates",
    "update risk",
    "violations",
)


def markdown(fleet: FleetAudit, *, html_report: str = "audit.html") -> str:
    """GitHub-flavoured Markdown, under `COMMENT_LIMIT` characters for any fleet.

    Args:
        fleet: the audit to sum up.
        html_report: where the reader finds the HTML report, named in the last line.
    """
    rows = [ServiceSummary.of(service) for service in fleet.services]
    totals = FleetTotals.of(rows)
    lines = [*_header(fleet, totals), *_findings(fleet)]
    lines += _attention(sorted(rows, key=lambda r: (r.severity, r.name)), len("\n".join(lines)))
    lines += [
        "",
        (
            f"Every service, its findings and the diffs of its edited files are in `{html_report}`"
            " (one self-contained page: open it in a browser)."
        ),
    ]
    return "\n".join(lines) + "\n"


def _header(fleet: FleetAudit, totals: FleetTotals) -> list[str]:
    shard = f", shard {_text(fleet.shard, 20)}" if fleet.shard else ""
    if totals.violations:
        verdict = f"❌ {totals.violations} of {totals.services} services violate the policy."
    else:
        verdict = "✅ Every service is within the policy."
    lines = [
        (
            f"## paved fleet audit: {totals.services} services,"
            f" latest release {_text(fleet.latest, 40)}"
        ),
        "",
        verdict,
        "",
        f"Template {_code(fleet.template, 120)}, audited {_text(fleet.generated_at, 40)}{shard}.",
        "",
        "| services | count |",
        "|---|--:|",
    ]
    lines += [f"| {label} | {count} |" for _key, label, count in totals.labelled()]
    return lines


def _findings(fleet: FleetAudit) -> list[str]:
    """The most frequent kinds of finding, as one line."""
    counts = Counter(issue.id for service in fleet.services for issue in service.issues)
    if not counts:
        return []
    common = ", ".join(f"{_code(i, 60)} ({n})" for i, n in counts.most_common(8))
    return ["", f"Most frequent findings: {common}."]


def _attention(rows: list[ServiceSummary], used: int) -> list[str]:
    """The table of services needing attention, worst first, cut to fit the comment."""
    needy = [row for row in rows if row.needs_attention]
    if not needy:
        return ["", "No service needs attention: all are pristine and on the latest release."]
    lines = [
        "",
        f"### Services needing attention ({len(needy)})",
        "",
        "| " + " | ".join(_COLUMNS) + " |",
        "|" + "---|" * 2 + "---|" + "--:|" * 6 + "---|--:|",
    ]
    used += sum(len(line) + 1 for line in lines)
    shown = 0
    for row in needy[:_MAX_ROWS]:
        line = _row(row)
        if used + len(line) + 1 > _BUDGET:
            break
        lines.append(line)
        used += len(line) + 1
        shown += 1
    if shown < len(needy):
        lines += ["", f"… and {len(needy) - shown} more services need attention."]
    return lines


def _row(row: ServiceSummary) -> str:
    cells = [
        _text(row.name, _CELL),
        _text(row.team or "", _CELL),
        _text(row.release or "unknown", 24),
        "?" if row.behind is None else str(row.behind),
        *(str(n or "") for n in (row.edited, row.deleted, row.stale, row.extra, row.weakened)),
        "**high**" if row.risk == "high" else row.risk,
        f"**{row.violations}**" if row.violations else "",
    ]
    return "| " + " | ".join(cells) + " |"


def _code(value: str, limit: int) -> str:
    """`value` as a code span: shown literally, backticks aside."""
    text = _cut(value.replace("`", "'"), limit)
    return f"`{text}`"


def _text(value: str, limit: int) -> str:
    """`value` on one line, at most `limit` characters, shown literally by GitHub."""
    return _MARKUP.sub(r"\\\1", html.escape(_cut(value, limit), quote=False))


def _cut(value: str, limit: int) -> str:
    text = " ".join(value.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
