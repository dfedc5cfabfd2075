"""Debian's Chromium for the browser tests: where it is, how it starts, and the skip when it is missing.

No test tool downloads a browser of its own (there is no network for that here, nor on many users' CI).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
NEED = "browser tests need Debian's chromium at /usr/bin/chromium: apt-get install chromium"
# Headless, and without the background connections a closed network refuses (they slow every start).
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require() -> None:
    """Skip the calling test module, saying how to enable it, when playwright or Chromium is missing."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip(f"{NEED} (and the playwright package: pip install -e '.[test]')", allow_module_level=True)
    if not CHROMIUM.exists():
        pytest.skip(NEED, allow_module_level=True)


@contextlib.contextmanager
def chromium():
    """A running headless Chromium; skips the test if it is installed but cannot start here."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        except PlaywrightError as error:
            pytest.skip(f"{NEED} (it did not start: {str(error).splitlines()[0]})")
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def server():
    """One napkg serve per browser test module (import this fixture with `browser`)."""
    from server import running_server

    with running_server("--workers", "1") as s:
        yield s


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b
