"""The admin's settings in the console (Chromium), taking effect without a restart: business hours
and the widget's defaults reach a customer's widget at once, a deactivated agent's console ends at
once, canned responses are edited and deleted, and every change is in the audit log.
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from playwright.async_api import Browser, expect

from tests.e2e.test_takeover_browser import console_page
from tests.support import VIEWPORT, free_port

pytestmark = pytest.mark.browser

UI = 15_000


async def bare_shop(baton):
    """A page whose embed sets nothing but the server: the admin's defaults apply."""
    html = (f'<!doctype html><html><head><meta charset="utf-8"><title>Shop</title></head><body><h1>Shop</h1>'
            f'<script src="{baton.url}/widget.js" data-server="{baton.url}" defer></script></body></html>')

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/"


async def test_admin_settings_apply_live_and_are_audited(start_server, browser: Browser):
    baton = start_server()
    admin_context, admin, _ = await console_page(browser, baton, role="admin", display_name="Ari")
    agent_context, agent, _ = await console_page(browser, baton, role="agent", display_name="Sam")
    runner, shop_url = await bare_shop(baton)
    customer_context = await browser.new_context(viewport=VIEWPORT)
    customer_context.set_default_timeout(UI)
    try:
        await admin.get_by_test_id("nav-admin").click()
        await expect(admin.get_by_test_id("ops-form")).to_be_visible()
        # Closed every day but one minute of Sunday, in Berlin; the widget's defaults; a reworded notice.
        for day in ("mon", "tue", "wed", "thu", "fri", "sat"):
            await admin.get_by_test_id(f"ops-hours-{day}").fill("closed")
        await admin.get_by_test_id("ops-hours-sun").fill("00:00-00:01")
        await admin.get_by_test_id("ops-timezone").fill("Europe/Berlin")
        await admin.get_by_test_id("ops-widget-title").fill("Northwind help desk")
        await admin.get_by_test_id("ops-widget-color").fill("#0f766e")
        await admin.get_by_test_id("ops-widget-greeting").fill("Hello from the help desk!")
        await admin.get_by_test_id("ops-text-handoff_closed").fill(
            "The team is away{next_opening}. You are number {position}. Leave your e-mail below.")
        await admin.get_by_test_id("ops-submit").click()
        await expect(admin.get_by_test_id("ops-status")).to_contain_text("Applied now")
        await expect(admin.get_by_test_id("ops-hours-mon")).to_have_value("closed")

        # A customer on a page whose embed sets nothing gets the defaults and the new hours.
        shop = await customer_context.new_page()
        shop.page_errors = []  # type: ignore[attr-defined]
        shop.on("pageerror", lambda exc: shop.page_errors.append(str(exc)))  # type: ignore[attr-defined]
        await shop.goto(shop_url)
        await shop.get_by_test_id("baton-launcher").click()
        await expect(shop.get_by_test_id("baton-title")).to_have_text("Northwind help desk")
        await expect(shop.get_by_test_id("baton-greeting")).to_have_text("Hello from the help desk!")
        color = await shop.evaluate("() => getComputedStyle(document.querySelector('.baton-header')).backgroundColor")
        assert color == "rgb(15, 118, 110)", color
        await shop.get_by_test_id("baton-input").fill("I want to talk to a person")
        await shop.get_by_test_id("baton-send").click()
        notice = shop.locator('[data-testid="baton-message"][data-sender="system"]')
        await expect(notice).to_have_text(
            "The team is away; we're back Sunday at 00:00 (Europe/Berlin). You are number 1. Leave your e-mail below.")
        await expect(shop.get_by_test_id("baton-leave-form")).to_be_visible()

        # Deactivating Sam ends his console at once.
        sam_row = admin.locator('[data-testid="user-row"]').filter(has=admin.locator('input[value="Sam"]'))
        await sam_row.get_by_test_id("user-edit-active").uncheck()
        await expect(admin.get_by_test_id("admin-status")).to_contain_text("deactivation")
        await expect(agent.get_by_test_id("login-username")).to_be_visible(timeout=UI)

        # Canned responses: edit one, delete one.
        hello = admin.locator('[data-testid="canned-row"]')
        await admin.get_by_test_id("canned-shortcut").fill("thanks")
        await admin.get_by_test_id("canned-text").fill("Thanks for your patience!")
        await admin.get_by_test_id("canned-submit").click()
        row = hello.filter(has=admin.locator('input[value="thanks"]'))
        await expect(row).to_have_count(1)
        await row.get_by_test_id("canned-edit-text").fill("Thank you for waiting!")
        await row.get_by_test_id("canned-save").click()
        await expect(admin.get_by_test_id("admin-status")).to_have_text("/thanks saved.")
        admin.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await row.get_by_test_id("canned-delete").click()
        await expect(hello.filter(has=admin.locator('input[value="thanks"]'))).to_have_count(0)

        # Every change, who made it and when.
        audit = admin.get_by_test_id("audit-row")
        for action in ("operations_settings", "patch /api/users/{id}", "post /api/canned", "put /api/canned/{id}",
                       "delete /api/canned/{id}"):
            await expect(audit.filter(has=admin.locator(f'td:text-is("{action}")'))).to_have_count(1)
        await expect(audit.first).to_contain_text("admin-")
        assert admin.page_errors == [] and shop.page_errors == []  # type: ignore[attr-defined]
    finally:
        await customer_context.close()
        await agent_context.close()
        await admin_context.close()
        await runner.cleanup()
