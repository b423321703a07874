"""Search in the console (Chromium): find a resolved conversation by words from it, filter, open it."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.test_takeover_browser import console_page
from tests.support import api, http_session, rest

pytestmark = pytest.mark.browser


async def test_find_a_resolved_conversation_and_open_it(start_server, browser: Browser):
    baton = start_server()
    tag = uuid.uuid4().hex[:6]
    async with http_session() as http:
        sender = f"rest-{uuid.uuid4().hex[:8]}"
        await rest(http, baton, sender, f"I want to talk to a person about invoice INV-{tag}",
                   metadata={"customer_name": "Grace Search"})
        _, body = await api(http, baton, f"/api/conversations?channel=rest&external_id={sender}")
        conversation_id = body["conversations"][0]["id"]
        assert (await api(http, baton, f"/api/conversations/{conversation_id}/claim", "POST"))[0] == 200
        assert (await api(http, baton, f"/api/conversations/{conversation_id}/resolve", "POST"))[0] == 200
        await rest(http, baton, f"rest-{uuid.uuid4().hex[:8]}", "hi")   # someone else, still with the bot

    context, page, _ = await console_page(browser, baton)
    try:
        await page.get_by_test_id("nav-search").click()
        results = page.get_by_test_id("search-result")
        await expect(results).to_have_count(2)                            # everything, newest first
        await page.get_by_test_id("search-q").fill(f"inv-{tag}")
        await page.get_by_test_id("search-submit").click()
        await expect(results).to_have_count(1)
        hit = results.first
        await expect(hit).to_have_attribute("data-conversation-id", str(conversation_id))
        await expect(hit).to_have_attribute("data-status", "resolved")
        await expect(hit).to_contain_text("Grace Search")
        await expect(hit).to_contain_text("Customer asked for a human")

        await page.get_by_test_id("search-q").fill("")
        await page.get_by_test_id("search-status").select_option("resolved")
        await expect(results).to_have_count(1)
        await page.get_by_test_id("search-status").select_option("bot")
        await expect(results).to_have_count(1)
        await expect(results.first).not_to_have_attribute("data-conversation-id", str(conversation_id))
        await page.get_by_test_id("search-status").select_option("resolved")
        await expect(results.first).to_have_attribute("data-conversation-id", str(conversation_id))

        await results.first.click()
        await expect(page.locator("#view-inbox")).to_be_visible()
        await expect(page.get_by_test_id("conv-status")).to_have_text("resolved")
        await expect(page.locator('#transcript [data-testid="message"][data-sender="customer"]').filter(
            has_text=f"INV-{tag}")).to_have_count(1)
        assert page.page_errors == []  # type: ignore[attr-defined]
    finally:
        await context.close()
