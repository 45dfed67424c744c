"""The fleet audit's report files: JSON round trip, Markdown summary, Tech Insights, HTML page."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from paved_gates._audit._insights import FACT_SCHEMA, facts
from paved_gates._audit._model import SCHEMA_VERSION, FleetAudit, ServiceAudit
from paved_gates._audit._report_html import html
from paved_gates._audit._report_markdown import COMMENT_LIMIT, markdown
from paved_gates._audit._reports import read_fleet, write_reports
from paved_gates._errors import ConfigError

from tests._audit_fleet import GENERATED_AT, SCRIPT_NAME, sample_fleet

#: The sample fleet's totals, counted by hand from tests/_audit_fleet.py's SERVICES.
TOTALS = {
    "services": 30,
    "on the latest release": 14,
    "behind the latest release": 13,
    "on an unsupported release": 5,
    "on an unknown release": 3,
    "with enforced files edited, deleted or added": 10,
    "with weakened gates": 6,
    "with update conflicts predicted": 3,
    "violating the policy": 9,
    "the audit could not fully read": 3,
}
#: Pristine and on the latest release: the services no summary should list.
CLEAN = {
    "invoicing",
    "subscriptions",
    "accounts",
    "api-keys",
    "audit-log",
    "indexer",
    "ranking",
    "synonyms",
}


@pytest.fixture(scope="module")
def fleet() -> FleetAudit:
    return sample_fleet()


def _service(fleet: FleetAudit, name: str) -> ServiceAudit:
    return next(service for service in fleet.services if service.name == name)


def test_reports_are_written_and_audit_json_round_trips(fleet: FleetAudit, tmp_path: Path) -> None:
    written = write_reports(fleet, tmp_path / "out")

    out = tmp_path / "out"
    assert {path.name for path in written[:3]} == {"audit.json", "audit.md", "audit.html"}
    assert sorted(written) == sorted(p for p in out.rglob("*") if p.is_file())
    assert len(list((out / "insights").glob("*.json"))) == len(fleet.services)
    text = (out / "audit.json").read_text(encoding="utf-8")
    assert text == json.dumps(fleet.as_dict(), indent=2, sort_keys=True) + "\n"
    assert json.loads(text)["schema_version"] == SCHEMA_VERSION
    assert read_fleet(out / "audit.json") == fleet


def test_fact_files_follow_the_fleet(fleet: FleetAudit, tmp_path: Path) -> None:
    write_reports(fleet, tmp_path)
    smaller = replace(fleet, services=fleet.services[:5])

    write_reports(smaller, tmp_path)

    names = {
        json.loads(path.read_text())["entity"]["name"]
        for path in (tmp_path / "insights").glob("*.json")
    }
    assert names == {service.name for service in smaller.services}


def test_a_markup_name_gets_a_safe_fact_file(fleet: FleetAudit, tmp_path: Path) -> None:
    write_reports(fleet, tmp_path)

    files = list((tmp_path / "insights").iterdir())
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+\.json", path.name) for path in files)
    by_name = {json.loads(path.read_text())["entity"]["name"]: path for path in files}
    assert SCRIPT_NAME in by_name
    assert by_name["ledger"].name == "ledger.json"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"schema_version": 2, "services": []}', "schema_version 2; this paved-gates reads"),
        ('{"services": []}', "no schema_version"),
        ('{"schema_version": "1"}', "no schema_version"),
        ("[1, 2]", "no schema_version"),
        ("{not json", "is not JSON"),
        ('{"schema_version": 1, "latest": "0.2.1"}', "malformed audit report"),
        (
            (
                '{"schema_version": 1, "template": "t", "latest": "1", "releases": [], '
                '"generated_at": "", "services": [{"name": "x"}]}'
            ),
            "malformed audit report",
        ),
    ],
)
def test_read_fleet_refuses_what_it_cannot_read(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "audit.json"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(ConfigError, match=re.escape(message)):
        read_fleet(path)


def test_read_fleet_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the audit report"):
        read_fleet(tmp_path / "absent.json")


def test_markdown_names_the_totals_and_the_services_needing_attention(fleet: FleetAudit) -> None:
    text = markdown(fleet)

    for label, count in TOTALS.items():
        assert f"| {label} | {count} |" in text
    assert "❌ 9 of 30 services violate the policy." in text
    assert "### Services needing attention (22)" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "|--" not in line]
    listed = {row.split(" | ")[0].removeprefix("| ") for row in rows[len(TOTALS) + 2 :]}
    expected = {s.name for s in fleet.services} - CLEAN - {SCRIPT_NAME}
    assert listed == expected | {"&lt;script&gt;alert(1)&lt;/script&gt;"}
    assert "<script>" not in text
    assert "audit.html" in text.splitlines()[-1]


def test_markdown_lists_the_worst_first(fleet: FleetAudit) -> None:
    rows = [line for line in markdown(fleet).splitlines() if line.startswith("| ")]
    table = rows[rows.index(next(r for r in rows if r.startswith("| service |"))) + 1 :]

    assert table[0].startswith("| autocomplete | search | 0.1.0 | 2 |")  # 2 violations
    assert table[0].endswith("| low | **2** |")
    assert table[-1].startswith("| spellcheck | search | unknown | ? |")  # only an unknown commit


def test_markdown_of_a_fleet_of_5000_fits_a_github_comment() -> None:
    text = markdown(sample_fleet(5000))

    assert len(text) < COMMENT_LIMIT
    assert "| services | 5000 |" in text
    assert re.search(r"… and \d+ more services need attention\.", text)


def test_markdown_of_a_clean_fleet(fleet: FleetAudit) -> None:
    clean = replace(fleet, services=tuple(s for s in fleet.services if s.name in CLEAN))

    text = markdown(clean)

    assert "✅ Every service is within the policy." in text
    assert "No service needs attention" in text


def test_insights_facts_of_a_service_with_conflicts(fleet: FleetAudit) -> None:
    fact_set = facts(_service(fleet, "tax-engine"), timestamp=GENERATED_AT)

    assert fact_set == {
        "entity": {"namespace": "default", "kind": "component", "name": "tax-engine"},
        "timestamp": GENERATED_AT,
        "facts": {
            "pavedTemplateRelease": "0.1.0",
            "pavedLatestRelease": "0.2.1",
            "pavedReleasesBehind": 2,
            "pavedDaysBehind": 98,
            "pavedOnLatestRelease": False,
            "pavedOnSupportedRelease": False,
            "pavedEnforcedFilesEdited": 1,
            "pavedEnforcedFilesDeleted": 0,
            "pavedEnforcedFilesStale": 2,
            "pavedEnforcedFilesExtra": 0,
            "pavedGatesWeakened": 0,
            "pavedUpdateRisk": "high",
            "pavedUpdateConflicts": 1,
            "pavedPolicyViolations": 1,
            "pavedAuditProblems": 0,
            "pavedGateResults": {
                "lint": "passed",
                "tests": "passed",
                "deps": "passed",
                "coverage": "passed",
            },
        },
    }
    assert set(fact_set["facts"]) <= set(FACT_SCHEMA)


def test_insights_facts_leave_out_what_the_audit_could_not_read(fleet: FleetAudit) -> None:
    values = facts(_service(fleet, "directory"))["facts"]

    assert values["pavedAuditProblems"] == 1
    for unknown in ("pavedReleasesBehind", "pavedOnSupportedRelease", "pavedUpdateRisk"):
        assert unknown not in values


def test_insights_facts_of_weakened_gates(fleet: FleetAudit) -> None:
    service = _service(fleet, "card-vault")

    values = facts(service)["facts"]

    assert values["pavedGatesWeakened"] == 3
    assert values["pavedPolicyViolations"] == 1
    assert values["pavedOnLatestRelease"] is True
    assert values["pavedGateResults"]["coverage"] == "failed"


def test_insights_files_hold_each_services_facts(fleet: FleetAudit, tmp_path: Path) -> None:
    write_reports(fleet, tmp_path)

    stored = json.loads((tmp_path / "insights" / "refunds.json").read_text())

    assert stored == facts(_service(fleet, "refunds"), timestamp=fleet.generated_at)
    assert stored["facts"]["pavedEnforcedFilesEdited"] == 1


#: Attributes that make a browser fetch what they name.
_FETCHING = {"src", "href", "srcset", "action", "formaction", "poster", "data", "xlink:href"}


class _Resources(HTMLParser):
    """Every attribute that makes a browser fetch, and the page's style and script text."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.code: list[str] = []
        self.data: list[str] = []
        self._tag = ""
        self._json = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag = tag
        self._json = ("type", "application/json") in attrs
        self.urls += [value or "" for name, value in attrs if name in _FETCHING]
        self.code += [value or "" for name, value in attrs if name == "style"]

    def handle_endtag(self, tag: str) -> None:
        self._tag = ""

    def handle_data(self, data: str) -> None:
        if self._tag == "script" and self._json:
            self.data.append(data)
        elif self._tag in {"style", "script"}:
            self.code.append(data)


def test_html_references_nothing_remote(fleet: FleetAudit) -> None:
    page = _Resources()
    page.feed(html(fleet))

    remote = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
    assert len(page.code) == 2  # the page's one style and one script were read
    assert [url for url in page.urls if remote.match(url)] == []
    code = "\n".join(page.code)
    assert "@import" not in code
    assert re.findall(r"url\(\s*['\"]?(?!data:)", code) == []
    assert re.findall(r"https?:|fetch\(|XMLHttpRequest|WebSocket|sendBeacon", code) == []


def test_html_embeds_the_fleet_as_inert_json(fleet: FleetAudit) -> None:
    text = html(fleet)
    page = _Resources()
    page.feed(text)

    (data,) = page.data
    assert "<" not in data
    assert [s["name"] for s in json.loads(data)["services"]] == [s.name for s in fleet.services]
    assert SCRIPT_NAME not in text  # the name only appears JSON-escaped
    assert "default-src 'none'" in text
