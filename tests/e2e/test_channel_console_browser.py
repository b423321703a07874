"""What an agent sees of a provider channel in the console (real Chromium): the delivery status the
provider reports, live, and a reply WhatsApp's closed window refuses, with the reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import update

from bot.store.tables import Message, utcnow
from tests.e2e.channel_support import PUBLIC_URL, conversation_of, start_baton, stop_baton
from tests.providers.twilio_api import FakeTwilio
from tests.support import VIEWPORT, add_user

pytestmark = pytest.mark.browser

UI = 15_000
ACCOUNT, TOKEN = "AC" + "3" * 32, "console-test-token"
WA_NUMBER, CUSTOMER = "whatsapp:+15550000003", "whatsapp:+15557654321"


@pytest.fixture(scope="module")
async def world(tmp_path_factory, faulty_engine, model_path):
    fake = await FakeTwilio(ACCOUNT, TOKEN).start()
    fake.callbacks, fake.callback_delay = ["sent", "delivered", "read"], 0.4
    live = await start_baton(tmp_path_factory.mktemp("console"), {"whatsapp": {
        "account_sid": ACCOUNT, "auth_token": TOKEN, "twilio_number": WA_NUMBER, "base_url": fake.url}},
        faulty_engine, model_path)
    fake.forward(PUBLIC_URL, live.url)
    yield fake, live
    await stop_baton(live)
    await fake.stop()


async def test_the_console_shows_whatsapps_read_receipt_and_the_closed_window(world, browser: Browser):
    fake, live = world
    await fake.message_from("/webhooks/whatsapp/webhook", CUSTOMER, WA_NUMBER, "I want to talk to a person",
                            ProfileName="Grace")
    await fake.wait_for(lambda m: m["to"] == CUSTOMER)
    conversation_id = await conversation_of(live, "whatsapp", CUSTOMER)

    username, password, _ = await add_user(live, "agent", display_name="Sam")
    context = await browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(UI)
    page = await context.new_page()
    errors: list = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        await page.goto(f"{live.url}/console")
        await page.get_by_test_id("login-username").fill(username)
        await page.get_by_test_id("login-password").fill(password)
        await page.get_by_test_id("login-submit").click()
        await expect(page.get_by_test_id("connection-status")).to_have_text("connected")
        await page.locator(f'[data-testid="queue-item"][data-conversation-id="{conversation_id}"]').click()
        await page.get_by_test_id("claim").click()

        await page.get_by_test_id("composer").fill("Hi Grace, Sam here.")
        await page.get_by_test_id("send").click()
        reply = page.locator('#transcript [data-testid="message"][data-sender="agent"]').filter(
            has_text="Hi Grace, Sam here.")
        status = reply.get_by_test_id("delivery")
        await expect(status).to_have_attribute("data-provider-status", "read", timeout=UI)
        await expect(status).to_have_text("Read")

        async def age() -> None:
            async with live.services.store.conversations.sessions() as session, session.begin():
                await session.execute(update(Message).where(Message.conversation_id == conversation_id,
                                                            Message.sender == "customer")
                                      .values(created_at=utcnow() - timedelta(hours=26)))

        await live.acall(age())
        await page.get_by_test_id("composer").fill("Are you still there?")
        await page.get_by_test_id("send").click()
        await expect(page.get_by_test_id("composer-error")).to_contain_text("24 hours")
        await expect(page.locator('#transcript [data-testid="message"][data-sender="agent"]')).to_have_count(1)
        assert not [m for m in fake.sent if m["body"] == "Are you still there?"]
        assert errors == []
    finally:
        await context.close()
