"""Screenshots of the audit's HTML report for the docs, from the tests' sample fleet.

Renders `tests/_audit_fleet.py`'s fleet of 30 services and saves, through Debian's headless
Chromium with no network, the whole page and one service's drill-down:

    uv run python -m benchmarks.audit_screenshot    # docs/img/audit-report.png, audit-service.png
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from paved_gates._audit._reports import write_reports

from tests._audit_fleet import sample_fleet
from tests._browser import browser, missing, offline_page

ROOT = Path(__file__).resolve().parents[1]


def screenshots(output: Path, *, service: str = "refunds") -> list[Path]:
    """Save `audit-report.png` (full page) and `audit-service.png` (`service`) in `output`."""
    output.mkdir(parents=True, exist_ok=True)
    report, detail = output / "audit-report.png", output / "audit-service.png"
    with tempfile.TemporaryDirectory() as tmp, browser() as instance:
        page_file = Path(tmp) / "audit.html"
        write_reports(sample_fleet(), Path(tmp))
        with offline_page(instance, page_file, width=1440, height=1000) as (page, traffic):
            page.goto(page_file.as_uri())
            page.screenshot(path=report, full_page=True)
            page.goto(f"{page_file.as_uri()}#service={service}")
            page.wait_for_selector("dialog[open]")
            page.screenshot(path=detail)
            if traffic.console_errors or traffic.page_errors:
                raise SystemExit(f"the page reported errors: {traffic}")
    return [report, detail]


def main() -> None:
    """Save the screenshots to `--output` and print their paths."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--service", default="refunds", help="the service of the drill-down")
    args = parser.parse_args()
    if reason := missing():
        raise SystemExit(reason)
    for path in screenshots(args.output, service=args.service):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
