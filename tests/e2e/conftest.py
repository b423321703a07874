"""Fixtures the end-to-end browser tests share."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from tests.support import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
async def browser():
    """Debian's Chromium through Playwright; browser tests fail, never skip, without it."""
    assert Path(CHROMIUM).is_file(), (
        f"Chromium is missing at {CHROMIUM}: run `apt-get update && apt-get install -y chromium` as root")
    playwright = await async_playwright().start()
    chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    await chromium.close()
    await playwright.stop()
