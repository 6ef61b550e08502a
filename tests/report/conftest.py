"""A headless Chromium for the HTML pages: Debian's ``chromium`` driven by Playwright, one
browser per test session, a fresh context per page that records console errors, page
errors and every request the page makes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import Loaded

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (Debian's chromium package)")
    with sync_api.sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[[Path], Loaded]]:
    """Open a page file: its console errors, page errors and requests other than its own
    file are recorded on the result."""
    contexts = []

    def load(path: Path) -> Loaded:
        context = browser.new_context(viewport={"width": 1500, "height": 900})
        contexts.append(context)
        page = context.new_page()
        loaded = Loaded(page)
        page.on("console", lambda m: loaded.errors.append(m.text) if m.type == "error"
                else None)
        page.on("pageerror", lambda e: loaded.errors.append(str(e)))
        own = path.as_uri()
        page.on("request", lambda r: loaded.requests.append(r.url) if r.url != own
                else None)
        page.goto(own)
        page.wait_for_selector("section.trace, table.claims")
        return loaded

    yield load
    for context in contexts:
        context.close()
