"""Transfers in the console (Chromium): a warning for an offline target, the customer told only when
the new agent opens it, no actions left for what is no longer mine; the tab's count and favicon;
the same conversation number in the list, the header and a link.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.test_takeover_browser import console_page
from tests.support import WebChatClient, add_user, conversation_id_of

pytestmark = pytest.mark.browser

UI = 15_000


def said_to(customer: WebChatClient) -> list:
    """The messages the customer's socket has received and nobody read yet."""
    heard = []
    while not customer.events.empty():
        name, data = customer.events.get_nowait()
        if name == "bot_uttered":
            heard.append(data)
    return heard


async def test_transfer_warns_and_is_announced_when_opened(start_server, browser: Browser):
    baton = start_server()
    ana_context, ana, _ = await console_page(browser, baton, display_name="Ana")
    ben_name, ben_password, ben_id = await add_user(baton, "agent", display_name="Ben")
    customer = await WebChatClient(baton, baton_protocol=True).connect()
    ben_context = None
    try:
        await expect(ana).to_have_title("Baton console")
        await customer.start_session()
        await customer.say("I want to talk to a person")
        await customer.replies_until_quiet()
        conversation_id = await conversation_id_of(baton, customer.session_id)

        # The tab counts what waits: one queued conversation, in the title and the favicon.
        await expect(ana).to_have_title("1 queued · Baton console")
        icon = ana.locator('link[rel="icon"]')
        await expect(icon).to_have_attribute("data-count", "1")
        assert (await icon.get_attribute("href")).startswith("data:image/png;base64,")
        item = ana.locator(f'[data-testid="queue-item"][data-conversation-id="{conversation_id}"]')
        await expect(item.get_by_test_id("conversation-number")).to_have_text(f"#{conversation_id}")
        await item.click()
        await expect(ana.get_by_test_id("conv-number")).to_have_text(f"#{conversation_id}")
        await expect(ana.get_by_test_id("conv-number")).to_have_attribute("href", f"#/conversations/{conversation_id}")
        await ana.get_by_test_id("claim").click()
        await expect(ana).to_have_title("Baton console")
        _, joined = await customer.next("bot_uttered")
        assert joined["text"] == "Ana joined the conversation."

        # Ben is offline: choosing him asks first (dismissed: nothing happens), then transfers.
        option = ana.locator("#transfer option").filter(has_text="Ben")
        await expect(option).to_have_text("Ben · offline")
        asked = []
        ana.once("dialog", lambda dialog: (asked.append(dialog.message), asyncio.ensure_future(dialog.dismiss())))
        await ana.get_by_test_id("transfer").select_option(str(ben_id))
        await expect(ana.get_by_test_id("conv-assignee")).to_have_text("Assigned to Ana")
        assert asked and "Ben is offline" in asked[0] and "only when Ben opens it" in asked[0], asked
        ana.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await ana.get_by_test_id("transfer").select_option(str(ben_id))
        await expect(ana.get_by_test_id("conv-assignee")).to_have_text("Assigned to Ben")
        # Not Ana's any more: only notes are left to her.
        for action in ("hand-back", "resolve", "claim", "take-over"):
            await expect(ana.get_by_test_id(action)).to_be_hidden()
        await expect(ana.locator("#transfer")).to_be_hidden()
        await asyncio.sleep(1.0)
        assert said_to(customer) == [], "the customer heard of the transfer before Ben opened it"

        # Ben signs in and opens it from a link: now the customer is told.
        ben_context = await browser.new_context()
        ben = await ben_context.new_page()
        await ben.goto(f"{baton.url}/console#/conversations/{conversation_id}")
        await ben.get_by_test_id("login-username").fill(ben_name)
        await ben.get_by_test_id("login-password").fill(ben_password)
        await ben.get_by_test_id("login-submit").click()
        await expect(ben.get_by_test_id("conv-number")).to_have_text(f"#{conversation_id}", timeout=UI)
        await expect(ben.get_by_test_id("hand-back")).to_be_visible(timeout=UI)
        _, told = await customer.next("bot_uttered")
        assert told == {"text": "You've been transferred to Ben.", "sender": "system",
                        "message_id": told["message_id"]}, told
        await ben.reload()   # opening again tells nothing new
        await expect(ben.get_by_test_id("conv-number")).to_have_text(f"#{conversation_id}", timeout=UI)
        await asyncio.sleep(1.0)
        assert said_to(customer) == []
        assert re.match(r"^Baton console$", await ben.title())
    finally:
        await customer.close()
        await ana_context.close()
        if ben_context is not None:
            await ben_context.close()
