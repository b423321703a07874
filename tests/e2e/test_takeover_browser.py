"""An agent watches a live bot conversation in the console and takes it over; the bot goes silent.

A live Baton with the shared trained model, a real web chat customer (Socket.IO), and the console in
Chromium driven through its own login form and buttons.
"""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser, expect

from tests.support import (
    VIEWPORT, WebChatClient, add_user, conversation_detail, conversation_id_of, http_session,
)

pytestmark = pytest.mark.browser

UI = 15_000


async def console_page(browser: Browser, baton, role: str = "agent", display_name: str = "Ana"):
    username, password, user_id = await add_user(baton, role, display_name=display_name)
    context = await browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(UI)
    page = await context.new_page()
    page.page_errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.page_errors.append(str(exc)))  # type: ignore[attr-defined]
    await page.goto(f"{baton.url}/console")
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(password)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("connection-status")).to_have_text("connected")
    return context, page, user_id


async def test_an_agent_takes_over_a_live_bot_conversation(start_server, browser):
    baton = start_server()
    context, page, agent_id = await console_page(browser, baton)
    customer = await WebChatClient(baton, baton_protocol=True).connect()
    try:
        await customer.start_session()
        await customer.say("hi")
        await customer.replies_until_quiet()
        conversation_id = await conversation_id_of(baton, customer.session_id)

        # The bot's conversations are in their own tab, live.
        await page.get_by_test_id("tab-bot").click()
        item = page.locator(f'[data-testid="queue-item"][data-conversation-id="{conversation_id}"]')
        await expect(item).to_have_attribute("data-status", "bot")
        await item.click()
        await expect(page.get_by_test_id("claim")).to_be_hidden()
        await expect(page.locator("#composer-box")).to_be_visible()   # notes are always possible
        await customer.say("where is my order 12345?")
        await customer.replies_until_quiet()
        await expect(page.locator('#transcript [data-testid="message"][data-sender="customer"]').filter(
            has_text="where is my order 12345?")).to_have_count(1)

        # A tapped quick reply reads as the button's title, with what the bot received beside it.
        await customer.say("/return_policy")
        await customer.replies_until_quiet()
        tapped = page.locator('#transcript [data-testid="message"][data-sender="customer"]').filter(
            has=page.get_by_test_id("tapped-payload"))
        await expect(tapped.locator(".msg-text")).to_have_text("Returns")
        await expect(tapped.get_by_test_id("tapped-payload")).to_have_text("tapped: /return_policy")

        await page.get_by_test_id("take-over").click()
        await expect(page.get_by_test_id("take-over")).to_be_hidden()
        await expect(page.get_by_test_id("conv-status")).to_have_text("assigned")
        await expect(page.get_by_test_id("conv-assignee")).to_have_text("Assigned to Ana")
        _, joined = await customer.next("bot_uttered")
        assert joined.get("sender") == "system" and joined["text"] == "Ana joined the conversation.", joined

        # From now on only the agent answers.
        await customer.say("hi again")
        await asyncio.sleep(1.5)
        heard = []
        while not customer.events.empty():
            heard.append(customer.events.get_nowait())
        assert not [data for name, data in heard if name == "bot_uttered"], heard
        reply = "Hi, I'm Ana; I'll look at order 12345 for you."
        await page.get_by_test_id("composer").fill(reply)
        await page.get_by_test_id("send").click()
        _, delivered = await customer.next("bot_uttered")
        assert delivered.get("sender") == "agent" and delivered["text"] == reply

        async with http_session() as http:
            stored = await conversation_detail(http, baton, conversation_id)
        assert stored["conversation"]["handoff_reason"] == "agent_takeover"
        assert stored["conversation"]["assignee"]["id"] == agent_id
        after = [m for m in stored["messages"] if m["id"] > joined["message_id"]]
        assert [m["sender"] for m in after] == ["customer", "agent"]
        # The reason reads as words in the console.
        await expect(page.locator("#conv-meta")).to_contain_text("Taken over by an agent")
        assert page.page_errors == []  # type: ignore[attr-defined]
    finally:
        await customer.close()
        await context.close()
