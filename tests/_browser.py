"""Debian's headless Chromium, driven by Playwright, with the network out of reach."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, Route, sync_playwright

#: The browser of Debian's `chromium` package (.ci/run installs it); Playwright downloads none.
CHROMIUM = Path("/usr/bin/chromium")
_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-default-apps",
]


@dataclass
class Traffic:
    """What a page asked for and said: every request's URL, console errors, page errors."""

    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)  # alert(), confirm(): none should open

    def watch(self, page: Page) -> None:
        """Record what `page` does from now on; dismiss any JS dialog it opens."""
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("dialog", self._dialog)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def missing() -> str | None:
    """Why the browser cannot run here, or None."""
    if CHROMIUM.exists():
        return None
    return f"{CHROMIUM} is missing: apt-get install chromium (Debian's package; .ci/run does it)"


@contextmanager
def browser() -> Iterator[Browser]:
    """Headless Chromium from `CHROMIUM`."""
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@contextmanager
def offline_page(
    instance: Browser, document: Path, *, width: int = 1440, height: int = 900
) -> Iterator[tuple[Page, Traffic]]:
    """A page in a fresh offline context that may load `document` and nothing else.

    Every other request is refused; the `Traffic` records each request, console error,
    page error and JS dialog. Navigate with `page.goto(document.as_uri())`.
    """
    allowed = document.resolve().as_uri()
    context = instance.new_context(viewport={"width": width, "height": height}, offline=True)

    def gate(route: Route) -> None:
        if route.request.url == allowed:
            route.continue_()
        else:
            route.abort("blockedbyclient")

    context.route("**/*", gate)
    page = context.new_page()
    traffic = Traffic()
    traffic.watch(page)
    try:
        yield page, traffic
    finally:
        context.close()
