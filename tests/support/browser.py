"""A real browser for the dashboard tests: Debian's chromium driven by Playwright (the app
under test is the real insights service of an e2e stack).

Chromium comes from ``make install`` (scripts/ensure-chromium), not from Playwright's own
download. Screenshots go to ``reports/screenshots/`` (kept as CI artifacts, not committed).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Browser, Playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
MISSING_CHROMIUM = f"{CHROMIUM} is missing: run `make install` (scripts/ensure-chromium, needs apt)"
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"), reason=MISSING_CHROMIUM
)
"""Skips the browser tests on a developer's machine without chromium; never in CI, where a
missing browser must fail them (make install puts it there)."""
SCREENSHOTS = Path(__file__).resolve().parents[2] / "reports" / "screenshots"


async def launch_chromium(playwright: Playwright) -> Browser:
    return await playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
