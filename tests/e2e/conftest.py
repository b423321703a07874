"""Fixtures the end-to-end browser tests share."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Optional

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from bot.engine import RasaEngine
from bot.settings import PROJECT_ROOT
from tests.support import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, LiveServer, add_user, make_settings

CONSOLE_UI_MS = 15_000  # how long the console may take to show something that travelled over the socket


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


@pytest.fixture
async def consoles(browser: Browser):
    """Console pages, each in its own browser context (its own cookie jar), logged in through the form."""
    contexts = []

    async def new_console(baton: LiveServer, role: str = "agent", name: Optional[str] = None) -> Page:
        username, password, _ = await add_user(baton, role, name)
        context = await browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(CONSOLE_UI_MS)
        contexts.append(context)
        page = await context.new_page()
        page.page_errors = []  # type: ignore[attr-defined]
        page.on("pageerror", lambda exc: page.page_errors.append(f"{exc} {exc.stack}"))  # type: ignore[attr-defined]
        page.console_errors = []  # type: ignore[attr-defined]
        page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))  # type: ignore
        await page.goto(f"{baton.url}/console")
        await expect(page.get_by_test_id("login-username")).to_be_visible(timeout=CONSOLE_UI_MS)
        await page.get_by_test_id("login-username").fill(username)
        await page.get_by_test_id("login-password").fill(password)
        await page.get_by_test_id("login-submit").click()
        await expect(page.get_by_test_id("connection-status")).to_have_text("connected", timeout=CONSOLE_UI_MS)
        await expect(page.get_by_test_id("login-username")).to_be_hidden()
        page.console_errors.clear()  # type: ignore[attr-defined]  # the 401 of GET /api/me before login
        return page

    yield new_console
    for context in contexts:
        await context.close()


@pytest.fixture(scope="module")
def workbench(tmp_path_factory, model_path):
    """Baton with its own copy of data/, its own models folder and its own engine: the workbench tests
    edit, train and swap models. One per test module, as module-scoped fixtures are."""
    root = tmp_path_factory.mktemp("workbench")
    shutil.copytree(PROJECT_ROOT / "data", root / "data")
    engine = RasaEngine(model_path, timeout=10)
    engine.start()
    assert engine.wait_ready_blocking(240), engine.error
    live = LiveServer(make_settings(f"sqlite+aiosqlite:///{root}/workbench.db", model_path,
                                    data_dir=root / "data", models_dir=root / "models"), engine).start()
    yield live
    live.stop()
    engine.stop()
