"""`audit.html`: the fleet audit as one self-contained page that loads nothing from anywhere.

The page is static HTML (totals, histogram, heatmap, table frame) plus the services as JSON in
a `<script type="application/json">`, which `report.js` turns into the sortable, filterable
table and the per-service drill-down. Its Content-Security-Policy allows only the page's own
style and script (by hash): no request leaves the file, and markup smuggled into service data
could not run even if it reached the page.
"""

from __future__ import annotations

import base64
import hashlib
import json
from html import escape
from importlib.resources import files

from paved_gates._audit._model import FleetAudit
from paved_gates._audit._report_charts import NO_TEAM, heatmap, histogram
from paved_gates._audit._summary import FleetTotals, ServiceSummary

__all__ = ["html"]

# (key, header, sort type): the services table's columns; report.js reads them from the page.
_COLUMNS = (
    ("name", "Service", "text"),
    ("team", "Team", "text"),
    ("release", "Release", "release"),
    ("behind", "Behind", "number"),
    ("edited", "Edited", "number"),
    ("deleted", "Deleted", "number"),
    ("stale", "Stale", "number"),
    ("extra", "Extra", "number"),
    ("weakened", "Weakened gates", "number"),
    ("risk", "Update risk", "risk"),
    ("conflicts", "Conflicts", "number"),
    ("violations", "Violations", "number"),
)
# Which way a total is bad, for its colour: "good" when high is good, else the tone of > 0.
_TONES = {
    "on_latest": "good",
    "behind": "warn",
    "unsupported": "bad",
    "version_unknown": "warn",
    "enforced_edits": "warn",
    "weakened": "bad",
    "conflicts": "warn",
    "violations": "bad",
    "problems": "warn",
}


def html(fleet: FleetAudit) -> str:
    """The whole page for `fleet`, as one string."""
    rows = [ServiceSummary.of(service) for service in fleet.services]
    totals = FleetTotals.of(rows)
    css = _asset("report.css")
    script = _asset("report.js")
    policy = "; ".join(
        (
            "default-src 'none'",
            f"style-src {_hash(css)}",
            f"script-src {_hash(script)}",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )
    title = f"paved fleet audit: {totals.services} services"
    return "\n".join(
        (
            "<!doctype html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{policy}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<meta name="referrer" content="no-referrer">',
            f"<title>{escape(title)}</title>",
            f"<style>{css}</style>",
            "</head>",
            "<body>",
            _header(fleet, totals),
            "<main>",
            _totals(totals),
            '<div class="charts">',
            histogram(rows),
            heatmap(fleet, rows),
            "</div>",
            _table(fleet, rows),
            "</main>",
            _dialog(),
            '<script type="application/json" id="audit-data">',
            _data(fleet, rows),
            "</script>",
            f"<script>{script}</script>",
            "</body>",
            "</html>",
            "",
        )
    )


def _asset(name: str) -> str:
    return files("paved_gates._audit").joinpath(name).read_text(encoding="utf-8")


def _hash(text: str) -> str:
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return f"'sha256-{digest}'"


def _data(fleet: FleetAudit, rows: list[ServiceSummary]) -> str:
    """The services as JSON that cannot end its `<script>` element early."""
    services = []
    for row, service in zip(rows, fleet.services, strict=True):
        detail = service.as_dict()
        services.append({**row.as_dict(), "detail": detail})
    text = json.dumps(
        {"latest": fleet.latest, "releases": list(fleet.releases), "services": services},
        sort_keys=True,
    )
    # JSON allows these escapes anywhere in a string; HTML then sees no tag, comment or entity.
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _header(fleet: FleetAudit, totals: FleetTotals) -> str:
    shard = f" · shard {escape(fleet.shard)}" if fleet.shard else ""
    if totals.violations:
        verdict = f'<p class="verdict bad">{totals.violations} violating the policy</p>'
    else:
        verdict = '<p class="verdict good">Fleet within policy</p>'
    return (
        '<header class="top"><div><h1>paved fleet audit</h1>'
        f"<p>Template <code>{escape(fleet.template)}</code> · latest release "
        f"<strong>{escape(fleet.latest)}</strong> · audited {escape(fleet.generated_at)}"
        f"{shard}</p></div>{verdict}</header>"
    )


def _totals(totals: FleetTotals) -> str:
    items = []
    for key, label, count in totals.labelled():
        tone = _TONES.get(key, "")
        if tone != "good" and not count:
            tone = ""
        items.append(
            f'<li class="total {tone}"><span class="count">{count}</span>'
            f'<span class="label">{escape(label)}</span></li>'
        )
    return (
        '<section aria-labelledby="totals-title"><h2 id="totals-title" class="visually-hidden">'
        f'Fleet totals</h2><ul class="totals">{"".join(items)}</ul></section>'
    )


def _table(fleet: FleetAudit, rows: list[ServiceSummary]) -> str:
    teams = sorted({row.team or "" for row in rows}, key=lambda t: (t == "", t.lower()))
    releases = [r for r in fleet.releases if any(row.release == r for row in rows)]
    releases += sorted({row.release for row in rows if row.release} - set(fleet.releases))
    team_options = "".join(
        f'<option value="={escape(t)}">{escape(t or NO_TEAM)}</option>' for t in teams
    )
    release_options = "".join(
        f'<option value="={escape(r)}">{escape(r)}</option>' for r in releases
    )
    if any(row.release is None for row in rows):
        release_options += '<option value="=">unknown</option>'
    risks = "".join(f'<option value="{r}">{r}</option>' for r in ("high", "low", "none", "unknown"))
    headers = "".join(
        f'<th scope="col" data-key="{key}" data-type="{kind}"'
        + (' class="num"' if kind == "number" else "")
        + (' aria-sort="ascending"' if key == "name" else "")
        + f'><button type="button">{label}</button></th>'
        for key, label, kind in _COLUMNS
    )
    return (
        '<section class="card" aria-labelledby="services-title">'
        '<div class="table-head"><h2 id="services-title">Services</h2>'
        '<p id="shown" aria-live="polite"></p></div>'
        '<div class="filters" role="search">'
        '<label>Search<input type="search" id="f-text" placeholder="service or team"></label>'
        f'<label>Team<select id="f-team"><option value="">all teams</option>{team_options}'
        "</select></label>"
        '<label>Release<select id="f-release"><option value="">all releases</option>'
        f"{release_options}</select></label>"
        '<label>Update risk<select id="f-risk"><option value="">any risk</option>'
        f"{risks}</select></label>"
        '<label class="check"><input type="checkbox" id="f-violations">violations only</label>'
        '<button type="button" id="f-clear">Clear filters</button></div>'
        f'<table id="services"><thead><tr>{headers}</tr></thead><tbody></tbody></table>'
        '<button type="button" id="more" class="more" hidden></button>'
        "<noscript><p>The services table needs JavaScript; audit.json has the same data.</p>"
        "</noscript></section>"
    )


def _dialog() -> str:
    return (
        '<dialog id="detail" aria-labelledby="detail-title"><div class="detail-head">'
        '<div><h2 id="detail-title" tabindex="-1" autofocus></h2>'
        '<p id="detail-source" class="mono"></p></div>'
        '<button type="button" class="close" aria-label="Close">&times;</button></div>'
        '<div id="detail-body"></div></dialog>'
    )
