"""audit.html in headless Chromium with no network: it loads, sorts, filters and drills down."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from paved_gates._audit._model import FleetAudit
from paved_gates._audit._reports import write_reports
from paved_gates._audit._summary import ServiceSummary
from playwright.sync_api import Browser, Page, expect

from tests._audit_fleet import SCRIPT_NAME, sample_fleet
from tests._browser import Traffic, browser, missing, offline_page

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fleet() -> FleetAudit:
    return sample_fleet()


@pytest.fixture(scope="module")
def report(fleet: FleetAudit, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("audit")
    write_reports(fleet, output)
    return output / "audit.html"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if reason := missing():
        pytest.fail(reason)
    with browser() as instance:
        yield instance


@pytest.fixture
def opened(chromium: Browser, report: Path) -> Iterator[tuple[Page, Traffic]]:
    """The report, loaded; after the test, proof that it asked for nothing and ran no alert."""
    with offline_page(chromium, report) as (page, traffic):
        page.goto(report.as_uri())
        yield page, traffic
        assert traffic.requests == [report.resolve().as_uri()]
        assert traffic.console_errors == []
        assert traffic.page_errors == []
        assert traffic.dialogs == []
        assert page.evaluate("window.pwned") is None


def _names(page: Page) -> list[str]:
    return page.locator("#services tbody td.name").all_inner_texts()


def _column(page: Page, index: int) -> list[str]:
    return page.locator(f"#services tbody tr td:nth-child({index})").all_inner_texts()


def test_the_page_loads_offline_and_shows_the_totals(opened: tuple[Page, Traffic]) -> None:
    page, _traffic = opened

    totals = dict(
        zip(
            page.locator(".total .label").all_inner_texts(),
            page.locator(".total .count").all_inner_texts(),
            strict=True,
        )
    )
    assert totals["services"] == "30"
    assert totals["violating the policy"] == "9"
    assert totals["with weakened gates"] == "6"
    assert page.locator("#shown").inner_text() == "Showing 30 of 30 services"
    assert len(_names(page)) == 30
    assert page.locator(".histogram rect.bar").count() == 4  # 0, 1, 2 behind and unknown


def test_sorting_by_a_column_reorders_the_rows(
    opened: tuple[Page, Traffic], fleet: FleetAudit
) -> None:
    page, _traffic = opened
    rows = [ServiceSummary.of(service) for service in fleet.services]
    header = page.locator('#services th[data-key="weakened"]')

    header.locator("button").click()  # a number sorts worst first

    worst_first = sorted(rows, key=lambda r: (-r.weakened, r.name))
    assert _names(page) == [r.name for r in worst_first]
    assert header.get_attribute("aria-sort") == "descending"
    assert page.locator('#services th[data-key="name"]').get_attribute("aria-sort") is None

    header.locator("button").click()

    assert _names(page) == [r.name for r in sorted(rows, key=lambda r: (r.weakened, r.name))]
    assert header.get_attribute("aria-sort") == "ascending"


def test_sorting_by_releases_behind_puts_unknown_last(opened: tuple[Page, Traffic]) -> None:
    page, _traffic = opened

    page.locator('#services th[data-key="behind"] button').click()
    page.locator('#services th[data-key="behind"] button').click()

    behind = _column(page, 4)
    known = [int(value) for value in behind if value != "?"]
    assert known == sorted(known)
    assert behind[len(known) :] == ["?", "?", "?"]


def test_sorting_by_name_toggles(opened: tuple[Page, Traffic], fleet: FleetAudit) -> None:
    page, _traffic = opened

    page.locator('#services th[data-key="name"] button').click()

    names = sorted((s.name for s in fleet.services), key=str.lower, reverse=True)
    assert _names(page) == names
    assert page.locator('#services th[data-key="name"]').get_attribute("aria-sort") == "descending"


def test_filtering_by_text_and_team(opened: tuple[Page, Traffic], fleet: FleetAudit) -> None:
    page, _traffic = opened

    page.locator("#f-text").fill("pay")

    paying = [s.name for s in fleet.services if "pay" in f"{s.name} {s.team}".lower()]
    assert sorted(_names(page)) == sorted(paying)
    assert len(paying) == 10
    assert page.locator("#shown").inner_text() == "Showing 10 of 30 services"

    page.locator("#f-text").fill("")
    page.locator("#f-team").select_option("=identity")

    identity = [s.name for s in fleet.services if s.team == "identity"]
    assert _names(page) == identity

    page.locator("#f-text").fill("ss")

    assert _names(page) == ["permissions", "sessions"]


def test_filtering_by_risk_release_and_violations(opened: tuple[Page, Traffic]) -> None:
    page, _traffic = opened

    page.locator("#f-risk").select_option("high")
    assert _names(page) == ["ledger", "permissions", "tax-engine"]

    page.locator("#f-release").select_option("=0.2.0")
    assert _names(page) == ["ledger", "permissions"]

    page.locator("#f-clear").click()
    page.locator("#f-team").select_option("=search")
    page.locator("#f-violations").check()
    assert _names(page) == ["autocomplete", "query-api"]

    page.locator("#f-team").select_option("=")  # services without a team
    page.locator("#f-violations").uncheck()
    assert _names(page) == ["directory", "legacy-batch"]


def test_a_heatmap_cell_filters_the_table(opened: tuple[Page, Traffic]) -> None:
    page, _traffic = opened

    page.locator('.heat[data-team="=identity"][data-release="=0.2.0"]').click()

    assert _names(page) == ["mfa", "oidc-bridge", "permissions"]


def test_a_row_opens_the_services_findings_and_diff(opened: tuple[Page, Traffic]) -> None:
    page, _traffic = opened

    page.locator('#services tbody tr[data-name="ledger"] td').nth(2).click()

    dialog = page.locator("dialog#detail")
    expect(dialog).to_be_visible()  # opened on the click's hashchange, an event of its own
    assert page.evaluate("location.hash") == "#service=ledger"
    assert page.locator("#detail-title").inner_text() == "ledger"
    diff = dialog.locator("pre.diff").first
    assert diff.locator(".del").all_inner_texts() == [
        "-    app.add_middleware(SecurityHeadersMiddleware)"
    ]
    assert (
        "+    # app.add_middleware(SecurityHeadersMiddleware)"
        in diff.locator(".add").all_inner_texts()
    )
    findings = dialog.locator("table.findings tbody tr td:first-child").all_inner_texts()
    assert findings == ["enforced.edited", "enforced.stale", "risk.conflicts"]

    page.keyboard.press("Escape")

    expect(dialog).to_be_hidden()
    expect(page).to_have_url(re.compile("^[^#]*$"))  # the close event clears the hash


def test_a_link_to_a_service_opens_its_drill_down(chromium: Browser, report: Path) -> None:
    with offline_page(chromium, report) as (page, traffic):
        page.goto(report.as_uri() + "#service=card-vault")

        dialog = page.locator("dialog#detail")
        assert dialog.is_visible()
        assert dialog.locator(".callout li").all_inner_texts() == [
            "3 gates weakened; the policy allows none"
        ]
        row = dialog.locator("table.findings tbody tr", has_text="gates.threshold_lowered")
        assert row.locator("td.value").all_inner_texts() == ["85", "60"]
        assert traffic.console_errors == []


def test_a_markup_name_is_text_and_never_runs(opened: tuple[Page, Traffic]) -> None:
    page, _traffic = opened

    link = page.locator("#services tbody td.name a").first
    assert link.inner_text() == SCRIPT_NAME
    link.click()

    assert page.locator("#detail-title").inner_text() == SCRIPT_NAME
    diff = page.locator("dialog#detail pre.diff").inner_text()
    assert "<img src=x onerror=" in diff
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 2  # the page's data and its own code
    assert page.locator("dialog b").count() == 0


def test_a_large_fleet_draws_rows_a_page_at_a_time(chromium: Browser, tmp_path: Path) -> None:
    write_reports(sample_fleet(450), tmp_path)
    report = tmp_path / "audit.html"
    with offline_page(chromium, report) as (page, traffic):
        page.goto(report.as_uri())
        more = page.locator("#more")

        assert len(_names(page)) == 200
        assert page.locator("#shown").inner_text() == (
            "Showing 200 of 450 matching services (450 in all)"
        )
        more.click()
        assert len(_names(page)) == 400
        assert more.inner_text() == "Show 50 more"
        more.click()
        assert len(_names(page)) == 450
        assert more.is_hidden()

        page.locator("#f-text").fill("ledger")

        assert len(_names(page)) == 15
        assert page.locator("#shown").inner_text() == "Showing 15 of 450 services"
        assert traffic.console_errors == []


def test_figures_sort_as_numbers(opened: tuple[Page, Traffic], fleet: FleetAudit) -> None:
    page, _traffic = opened
    stale = sorted((ServiceSummary.of(s).stale for s in fleet.services), reverse=True)
    assert stale[:4] == [12, 12, 2, 2]  # as text, "2" would come before "12"

    page.locator('#services th[data-key="stale"] button').click()

    assert [int(value) for value in _column(page, 7)] == stale
