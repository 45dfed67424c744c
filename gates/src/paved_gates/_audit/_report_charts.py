"""The audit page's charts: releases behind as an SVG histogram, a heatmap of teams by releases."""

from __future__ import annotations

import math
from collections import Counter
from html import escape

from paved_gates._audit._model import FleetAudit
from paved_gates._audit._summary import ServiceSummary

__all__ = ["NO_TEAM", "heatmap", "histogram"]

#: How the page names services without a team.
NO_TEAM = "(no team)"
_TONES = {0: "good", 1: "warn"}  # a bar's colour by releases behind; more is "bad"


def histogram(rows: list[ServiceSummary]) -> str:
    """Services by releases behind, as an inline SVG bar chart."""
    counts = Counter(row.behind for row in rows)
    known = [n for n in counts if n is not None]
    buckets: list[int | None] = list(range(max(known, default=0) + 1))
    if None in counts:
        buckets.append(None)
    width, height, top, bottom = 560, 220, 22, 28
    slot = width / len(buckets)
    tallest = max(counts.values(), default=1)
    parts = [
        f'<line class="axis" x1="0" y1="{height - bottom}" x2="{width}" y2="{height - bottom}"/>'
    ]
    described = []
    for index, behind in enumerate(buckets):
        count = counts.get(behind, 0)
        label = "unknown" if behind is None else str(behind)
        tone = "none" if behind is None else _TONES.get(behind, "bad")
        bar = (height - top - bottom) * count / tallest
        x = index * slot + slot * 0.2
        y = height - bottom - bar
        centre = index * slot + slot / 2
        parts += [
            (
                f'<rect class="bar {tone}" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.6:.1f}" '
                f'height="{bar:.1f}" rx="3"/>'
            ),
            (
                f'<text class="value" x="{centre:.1f}" y="{y - 6:.1f}" text-anchor="middle">'
                f"{count}</text>"
            ),
            f'<text x="{centre:.1f}" y="{height - 8}" text-anchor="middle">{label}</text>',
        ]
        described.append(f"{label} behind: {count}")
    summary = escape("Services by releases behind the latest: " + "; ".join(described))
    return (
        '<section class="card"><h2>Releases behind the latest</h2>'
        f'<svg class="histogram" viewBox="0 0 {width} {height}" role="img" aria-label="{summary}">'
        f"{''.join(parts)}</svg></section>"
    )


def heatmap(fleet: FleetAudit, rows: list[ServiceSummary]) -> str:
    """Services per team and release, as a table of shaded buttons that filter the table."""
    counts = Counter((row.team or "", row.release or "") for row in rows)
    teams = sorted({team for team, _ in counts}, key=lambda t: (t == "", t.lower()))
    releases = [r for r in fleet.releases if any(r == rel for _, rel in counts)]
    releases += sorted({rel for _, rel in counts} - set(fleet.releases) - {""})
    if any(rel == "" for _, rel in counts):
        releases.append("")
    unsupported = {row.release for row in rows if row.supported is False}
    tallest = max(counts.values(), default=1)
    head = "".join(
        f'<th scope="col">{escape(rel or "unknown")}'
        + ("<small>latest</small>" if rel == fleet.latest else "")
        + ("<small>unsupported</small>" if rel and rel in unsupported else "")
        + "</th>"
        for rel in releases
    )
    body = []
    for team in teams:
        cells = []
        for rel in releases:
            count = counts.get((team, rel), 0)
            if not count:
                cells.append('<td aria-label="none">·</td>')
                continue
            level = max(1, math.ceil(5 * count / tallest))
            name = escape(team or NO_TEAM)
            cells.append(
                f'<td><button type="button" class="heat heat-{level}" data-team="={escape(team)}" '
                f'data-release="={escape(rel)}" title="{name}, {escape(rel or "unknown")}: '
                f'{count} services (click to filter)">{count}</button></td>'
            )
        body.append(f'<tr><th scope="row">{escape(team or NO_TEAM)}</th>{"".join(cells)}</tr>')
    return (
        '<section class="card"><h2>Teams &times; releases</h2>'
        f'<table class="heatmap"><thead><tr><td></td>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
        '<p class="hint">Services per team and release; a cell filters the table.</p></section>'
    )
