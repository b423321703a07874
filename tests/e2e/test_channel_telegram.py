"""Telegram end to end: a local Bot API server, the webhook Baton registers with its secret token,
inline keyboards and button taps, handoff and an agent's reply, with the real model."""

from __future__ import annotations

import random

import pytest

from tests.e2e.channel_support import (
    PUBLIC_URL, Agent, conversation_of, delivery_of, eventually, messages, settle, start_baton, stop_baton,
)
from tests.providers.telegram_api import FakeTelegram

TOKEN = "123456789:TEST-token-for-the-local-bot-api"


def chat() -> int:
    return random.randint(10_000_000, 99_999_999)


@pytest.fixture(scope="module")
async def world(tmp_path_factory, faulty_engine, model_path):
    fake = await FakeTelegram(TOKEN).start()
    live = await start_baton(tmp_path_factory.mktemp("telegram"), {"telegram": {
        "access_token": TOKEN, "verify": "northwind_bot", "webhook_url": f"{PUBLIC_URL}/webhooks/telegram/webhook",
        "base_url": fake.url, "timeout_seconds": 1.0}}, faulty_engine, model_path)
    fake.forward(PUBLIC_URL, live.url)
    await eventually(lambda: _registered(fake))
    yield fake, live
    await stop_baton(live)
    await fake.stop()


async def _registered(fake):
    return fake.webhook.get("url")


async def test_baton_registers_its_webhook_with_a_secret_token(world):
    fake, _ = world
    assert fake.webhook["url"] == f"{PUBLIC_URL}/webhooks/telegram/webhook"
    secret = fake.webhook["secret_token"]
    assert secret and len(secret) >= 32 and TOKEN not in secret
    assert set(fake.webhook["allowed_updates"]) == {"message", "callback_query"}


async def test_buttons_are_an_inline_keyboard_a_tap_hands_off_and_the_agent_reply_arrives(world):
    fake, live = world
    customer = chat()
    status, _ = await fake.deliver(fake.text_update(customer, "hello there"))
    assert status == 200
    [greeting] = await fake.wait_for(lambda m: m["chat_id"] == str(customer))
    keyboard = greeting["reply_markup"]["inline_keyboard"]
    taps = {row[0]["text"]: row[0]["callback_data"] for row in keyboard}
    assert taps["Talk to a person"] == "/request_human"
    conversation_id = await conversation_of(live, "telegram", str(customer))
    assert (await delivery_of(live, conversation_id, greeting["text"]))["status"] == "sent"

    status, body = await fake.deliver(fake.button_tap(customer, taps["Talk to a person"]))
    assert status == 200 and '"method": "answerCallbackQuery"' in body   # the tap is acknowledged in the answer
    notice = (await fake.wait_for(lambda m: m["chat_id"] == str(customer), count=2))[1]
    assert "queue" in notice["text"]
    assert (await messages(live, conversation_id))[2]["text"] == "/request_human"

    async with Agent(live) as sam:
        status, _ = await sam.reply(conversation_id, "Hello Ada, Sam here.")
        assert status == 200
        await fake.wait_for(lambda m: m["chat_id"] == str(customer) and m["text"] == "Hello Ada, Sam here.")
        status, _ = await sam.call("POST", f"/api/conversations/{conversation_id}/typing", json={"typing": True})
        assert status == 200
        await eventually(lambda: _async((str(customer), "typing") in fake.chat_actions))
    delivery = await eventually(lambda: _sent(live, conversation_id, "Hello Ada, Sam here."))
    assert delivery["attempts"] == 1 and delivery["error"] is None
    context_name = [m for m in await messages(live, conversation_id) if m["sender"] == "agent"][0]["agent"]
    assert context_name["display_name"] == "Sam"


async def _async(value):
    return value


async def _sent(live, conversation_id, text):
    delivery = await delivery_of(live, conversation_id, text)
    return delivery if delivery and delivery["status"] == "sent" else None


async def test_an_update_without_the_secret_token_gets_403_and_nothing_is_stored(world):
    fake, live = world
    customer = chat()
    for secret in ("", "wrong-secret", TOKEN):
        status, _ = await fake.deliver(fake.text_update(customer, "hello"), secret=secret)
        assert status == 403, secret
    assert await conversation_of(live, "telegram", str(customer)) is None
    assert not [m for m in fake.sent if m["chat_id"] == str(customer)]


async def test_an_update_telegram_repeats_is_stored_once(world):
    fake, live = world
    customer = chat()
    update = fake.text_update(customer, "hello there")
    for _ in range(3):
        status, _ = await fake.deliver(update)
        assert status == 200
    await fake.wait_for(lambda m: m["chat_id"] == str(customer))
    await settle(live)
    stored = await messages(live, await conversation_of(live, "telegram", str(customer)))
    assert [m["sender"] for m in stored].count("customer") == 1
    assert len([m for m in fake.sent if m["chat_id"] == str(customer)]) == len(stored) - 1


async def test_attachments_are_listed_and_edits_are_not_new_messages(world):
    fake, live = world
    customer = chat()
    await fake.deliver(fake.text_update(customer, None, caption="my receipt", document={
        "file_id": "x", "file_name": "receipt.pdf", "mime_type": "application/pdf", "file_size": 2048}))
    await fake.wait_for(lambda m: m["chat_id"] == str(customer))
    status, _ = await fake.deliver({"update_id": 1, "edited_message": fake.text_update(customer, "edited")["message"]})
    assert status == 200
    await settle(live)
    stored = await messages(live, await conversation_of(live, "telegram", str(customer)))
    customer_texts = [m["text"] for m in stored if m["sender"] == "customer"]
    assert customer_texts == ["my receipt\n[attachment: receipt.pdf (application/pdf, 2048 bytes)]"]


async def test_after_an_outage_the_reply_is_delivered_exactly_once(world):
    fake, live = world
    customer = chat()
    await fake.deliver(fake.text_update(customer, "I want to talk to a person"))
    await fake.wait_for(lambda m: m["chat_id"] == str(customer))
    conversation_id = await conversation_of(live, "telegram", str(customer))
    async with Agent(live) as sam:
        await sam.reply(conversation_id, "One moment.")
        await fake.wait_for(lambda m: m["text"] == "One moment." and m["chat_id"] == str(customer))
        refused_before = fake.refused
        fake.outage = 2
        await sam.reply(conversation_id, "Found it: it ships today.")
    await fake.wait_for(lambda m: m["text"] == "Found it: it ships today.")
    delivery = await eventually(lambda: _sent(live, conversation_id, "Found it: it ships today."))
    await settle(live)
    assert fake.refused - refused_before == 2
    assert delivery["attempts"] == 3
    assert len([m for m in fake.sent if m["text"] == "Found it: it ships today."]) == 1
