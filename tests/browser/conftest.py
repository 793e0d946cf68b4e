"""A real browser (Debian's Chromium, driven by Playwright) against the running platform.

Chromium is a system package (``apt-get install chromium``), installed by ``.ci/run``. Where it
is missing these tests are skipped, saying so; in CI they fail instead. Screenshots of every
page a test visits go to ``var/screenshots/`` (``SCREENSHOTS_DIR``), for a person to look at.
"""

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR", ROOT / "var" / "screenshots"))
# What the machine's closed network needs: no call home, no component updates.
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _chromium() -> str | None:
    return (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )


# Module scope: Playwright's synchronous API keeps an event loop running while it is open,
# which the asynchronous tests of later modules could not start theirs beside.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("no Chromium here (apt-get install chromium, or set CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A new page in a fresh context (no cookie), in French, on a laptop-sized screen."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    yield opened
    context.close()


class Shots:
    """Full-page screenshots, numbered in the order a test takes them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()

    def __call__(self, page: Any, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{re.sub(r'[^a-z0-9-]+', '-', name.lower())}.png"
        # A picture for a person, not a check: a long page (a service's API reference) on a
        # busy machine may take longer to capture than the pages' own time limit.
        page.screenshot(path=str(path), full_page=True, timeout=120_000)
        return path


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shots:
    return Shots(SCREENSHOTS / request.node.name)
