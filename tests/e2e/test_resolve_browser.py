"""Resolve with a closing message and the one-question rating, in two real browsers: the console
and the customer's widget; then the customer writes again and it is a fresh bot conversation.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.test_takeover_browser import console_page
from tests.e2e.test_waiting_browser import open_demo_widget, say, widget_conversation
from tests.support import VIEWPORT, conversation_detail, http_session

pytestmark = pytest.mark.browser

UI = 15_000


async def test_resolve_with_a_closing_message_and_a_rating_then_a_fresh_start(start_server, browser: Browser):
    baton = start_server()
    console_context, console, agent_id = await console_page(browser, baton, display_name="Ana")
    customer_context = await browser.new_context(viewport=VIEWPORT)
    customer_context.set_default_timeout(UI)
    try:
        widget = await open_demo_widget(customer_context, baton)
        await say(widget, "I want to talk to a person")
        conversation_id = await widget_conversation(baton, widget)
        item = console.locator(f'[data-testid="queue-item"][data-conversation-id="{conversation_id}"]')
        await item.click()
        await console.get_by_test_id("claim").click()
        await expect(console.get_by_test_id("conv-status")).to_have_text("assigned")

        # Resolve: the dialog asks for an optional last word and whether to ask for a rating.
        await console.get_by_test_id("resolve").click()
        await expect(console.get_by_test_id("resolve-overlay")).to_be_visible()
        await expect(console.get_by_test_id("resolve-rating")).to_be_checked()
        await console.get_by_test_id("resolve-closing").fill("Your refund is on its way. Have a good day!")
        await console.get_by_test_id("resolve-confirm").click()
        await expect(console.get_by_test_id("resolve-overlay")).to_be_hidden()
        await expect(console.get_by_test_id("conv-status")).to_have_text("resolved")

        # The customer reads the goodbye and answers the one question.
        goodbye = widget.locator('[data-testid="baton-message"][data-sender="agent"]').filter(
            has_text="Your refund is on its way.")
        await expect(goodbye).to_have_count(1)
        rating = widget.get_by_test_id("baton-rating")
        await expect(rating).to_contain_text("How satisfied are you with the help you got today?")
        await expect(rating.get_by_test_id("baton-rating-option")).to_have_count(5)
        await rating.locator('[data-score="4"]').click()
        await expect(widget.get_by_test_id("baton-rating-thanks")).to_have_text("Thank you! You rated 4 out of 5.")

        # Stored, shown on the conversation and counted for Ana.
        await expect(console.get_by_test_id("rating-score")).to_have_attribute("data-score", "4")
        await expect(console.get_by_test_id("rating-score")).to_contain_text("Customer rated 4 / 5")
        ana = console.locator(f'[data-testid="agent"][data-agent-id="{agent_id}"]')
        await expect(ana.get_by_test_id("agent-rating")).to_have_text("★ 4.0 (1)")
        async with http_session() as http:
            stored = await conversation_detail(http, baton, conversation_id)
        [question] = [m for m in stored["messages"] if (m["payload"] or {}).get("rating_request")]
        assert question["payload"]["rating_request"]["score"] == 4

        # After a reload the widget remembers the answer (history), and offers no second vote.
        await widget.reload()
        await expect(widget.get_by_test_id("baton-rating-thanks")).to_have_text("Thank you! You rated 4 out of 5.")
        await expect(widget.get_by_test_id("baton-rating-option")).to_have_count(0)

        # Writing again reopens it with the bot: fresh, without the old reason or priority.
        await say(widget, "hi")
        await expect(widget.locator('[data-testid="baton-message"][data-sender="bot"]')).to_have_count(1)
        await console.get_by_test_id("tab-bot").click()
        await expect(item).to_have_attribute("data-status", "bot")
        await expect(item.get_by_test_id("handoff-reason")).to_have_count(0)
        await expect(item.get_by_test_id("priority")).to_have_count(0)
        async with http_session() as http:
            fresh = (await conversation_detail(http, baton, conversation_id))["conversation"]
        assert fresh["status"] == "bot" and fresh["handoff_reason"] is None and fresh["priority"] == 0
        assert fresh["assignee"] is None
        assert widget.page_errors == [] and console.page_errors == []  # type: ignore[attr-defined]
    finally:
        await customer_context.close()
        await console_context.close()
