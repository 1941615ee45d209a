"""Debian's chromium driven by Playwright, for the browser tests: the browser, a page that
checks every request stays on 127.0.0.1 and that the node's CSP holds, and screenshots.

Screenshots are saved under ``test-artifacts/screenshots`` (or
``$HEALTHNET_ARTIFACTS/screenshots``). Without /usr/bin/chromium the tests are skipped, and
in CI they fail instead: `.ci/run` installs the package.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from . import IN_CI

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Headless, no sandbox (CI runs as root), and none of Chromium's own calls to the internet.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("HEALTHNET_ARTIFACTS", ROOT / "test-artifacts")) / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        (pytest.fail if IN_CI else pytest.skip)(f"no chromium at {CHROMIUM}")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


class Watched:
    """A page that records every URL it asks for (none may leave 127.0.0.1) and every
    console message about the Content-Security-Policy (the node's pages must keep their
    own policy: anything it blocks is a page that is broken in a real browser)."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.page = context.new_page()
        self.seen: list[str] = []
        self.refused: list[str] = []
        self.page.on("request", lambda r: self.seen.append(r.url))
        self.page.on(
            "console",
            lambda m: self.refused.append(m.text) if "Content Security Policy" in m.text else None,
        )
        self.page.set_default_timeout(15_000)

    def check(self) -> None:
        outside = [u for u in self.seen if not u.startswith(LOCAL)]
        assert outside == [], f"pages fetched from outside: {outside}"
        assert self.refused == [], f"the pages broke their own policy: {self.refused}"


LOCAL = ("http://127.0.0.1:", "data:", "about:")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "device_scale_factor": 2}


@contextmanager
def watched(browser: Browser, **options: Any) -> Iterator[Page]:
    """A page in a fresh context (its own cookies), checked by ``Watched`` when done."""
    context = browser.new_context(**({"viewport": DESKTOP} | options))
    w = Watched(context)
    try:
        yield w.page
    finally:
        context.close()
    w.check()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with watched(browser) as pg:
        yield pg


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
