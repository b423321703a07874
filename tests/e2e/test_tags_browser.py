"""Tags in the console (Chromium): a rule tags as the customer writes, an agent adds and removes
tags, and search filters by them."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.test_takeover_browser import console_page
from tests.support import WebChatClient, conversation_id_of

pytestmark = pytest.mark.browser


async def test_rules_and_agents_tag_and_search_filters_by_tag(start_server, browser: Browser):
    baton = start_server(tag_rules={"request_human": "Wants human"})
    context, page, _ = await console_page(browser, baton)
    customer = await WebChatClient(baton, baton_protocol=True).connect()
    try:
        await customer.start_session()
        await customer.say("I want to talk to a person")
        await customer.replies_until_quiet()
        conversation_id = await conversation_id_of(baton, customer.session_id)
        item = page.locator(f'[data-testid="queue-item"][data-conversation-id="{conversation_id}"]')
        await expect(item.get_by_test_id("queue-tags")).to_have_text("#wants-human")

        await item.click()
        tags = page.get_by_test_id("tags")
        await expect(tags.get_by_test_id("tag")).to_have_text(["#wants-human×"])
        await page.get_by_test_id("tag-input").fill("Refund request")
        await page.get_by_test_id("tag-input").press("Enter")
        await expect(tags.get_by_test_id("tag")).to_have_count(2)
        await expect(tags.locator('[data-tag="refund-request"]')).to_be_visible()
        await page.get_by_test_id("tag-input").fill("not/a tag")
        await page.get_by_test_id("tag-input").press("Enter")
        await expect(page.get_by_test_id("action-error")).to_contain_text("a tag is 1-40 letters")
        await tags.locator('[data-tag="wants-human"]').get_by_test_id("tag-remove").click()
        await expect(tags.get_by_test_id("tag")).to_have_count(1)
        await expect(item.get_by_test_id("queue-tags")).to_have_text("#refund-request")

        await page.get_by_test_id("nav-search").click()
        await page.get_by_test_id("search-tag").fill("refund-request")
        await page.get_by_test_id("search-submit").click()
        results = page.get_by_test_id("search-result")
        await expect(results).to_have_count(1)
        await expect(results.first).to_have_attribute("data-conversation-id", str(conversation_id))
        await page.get_by_test_id("search-tag").fill("wants-human")
        await page.get_by_test_id("search-submit").click()
        await expect(page.get_by_test_id("search-empty")).to_be_visible()
        assert page.page_errors == []  # type: ignore[attr-defined]
    finally:
        await customer.close()
        await context.close()
