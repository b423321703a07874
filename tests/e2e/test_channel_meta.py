"""Messenger and Instagram end to end: local Graph APIs (Send API, handshake, signed webhooks, delivery
and read receipts) for two apps, and a live Baton with the real model."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.store.tables import Message, utcnow
from tests.e2e.channel_support import (
    PUBLIC_URL, Agent, conversation_of, delivered_as, delivery_of, eventually, messages, settle, start_baton,
    stop_baton,
)
from tests.providers.meta_api import FakeMeta

MESSENGER = dict(verify="messenger-verify-token", secret="messenger-app-secret", token="messenger-page-token")
INSTAGRAM = dict(verify="instagram-verify-token", secret="instagram-app-secret", token="instagram-page-token")


def psid() -> str:
    return str(uuid.uuid4().int)[:16]


@pytest.fixture(scope="module")
async def world(tmp_path_factory, faulty_engine, model_path):
    messenger = await FakeMeta("page", "/webhooks/facebook/webhook", MESSENGER["secret"], MESSENGER["token"]).start()
    instagram = await FakeMeta("instagram", "/webhooks/instagram/webhook", INSTAGRAM["secret"],
                               INSTAGRAM["token"]).start()

    def section(app, fake):   # Rasa's keys, as a Rasa credentials.yml has them
        return {"verify": app["verify"], "secret": app["secret"], "page-access-token": app["token"],
                "base_url": fake.url, "timeout_seconds": 1.0}

    live = await start_baton(tmp_path_factory.mktemp("meta"), {
        "facebook": section(MESSENGER, messenger), "instagram": section(INSTAGRAM, instagram)},
        faulty_engine, model_path)
    for fake in (messenger, instagram):
        fake.forward(PUBLIC_URL, live.url)
    yield messenger, instagram, live
    await stop_baton(live)
    for fake in (messenger, instagram):
        await fake.stop()


async def test_the_webhook_handshake_echoes_the_challenge_only_for_the_verify_token(world):
    messenger, instagram, _ = world
    assert await messenger.handshake(MESSENGER["verify"], "challenge-123") == (200, "challenge-123")
    assert (await messenger.handshake("guessed", "challenge-123"))[0] == 403
    assert (await instagram.handshake(MESSENGER["verify"], "x"))[0] == 403   # each app has its own token
    assert await instagram.handshake(INSTAGRAM["verify"], "abc") == (200, "abc")


async def test_messenger_quick_replies_handoff_agent_reply_delivered_and_read(world):
    messenger, _, live = world
    customer = psid()
    status, body = await messenger.send([messenger.text(customer, "hello there")])
    assert (status, body) == (200, "EVENT_RECEIVED")
    [greeting] = await messenger.wait_for(lambda m: m["recipient"] == customer)
    quick = {q["title"]: q["payload"] for q in greeting["message"]["quick_replies"]}
    assert quick["Talk to a person"] == "/request_human" and greeting["messaging_type"] == "RESPONSE"
    conversation_id = await conversation_of(live, "facebook", customer)
    assert await delivered_as(live, conversation_id, greeting["text"], "delivered")

    await messenger.send([messenger.quick_reply(customer, "Talk to a person", quick["Talk to a person"])])
    notice = (await messenger.wait_for(lambda m: m["recipient"] == customer, count=2))[1]
    assert "queue" in notice["text"]

    messenger.receipts = ["delivery", "read"]
    try:
        async with Agent(live) as sam:
            status, _ = await sam.reply(conversation_id, "Hi, Sam from Northwind here.")
            assert status == 200
        await messenger.wait_for(lambda m: m["recipient"] == customer and m["text"] == "Hi, Sam from Northwind here.")
        delivery = await delivered_as(live, conversation_id, "Hi, Sam from Northwind here.", "read")
        assert delivery["status"] == "sent" and delivery["attempts"] == 1
    finally:
        messenger.receipts = ["delivery"]


async def test_instagram_round_trip_with_its_read_receipt_by_message_id(world):
    _, instagram, live = world
    customer = psid()
    await instagram.send([instagram.text(customer, "I want to talk to a person")])
    [notice] = await instagram.wait_for(lambda m: m["recipient"] == customer)
    assert "queue" in notice["text"]
    conversation_id = await conversation_of(live, "instagram", customer)
    instagram.receipts = ["read"]
    try:
        async with Agent(live) as sam:
            await sam.reply(conversation_id, "Hello from the Northwind team!")
        await instagram.wait_for(lambda m: m["text"] == "Hello from the Northwind team!")
        assert await delivered_as(live, conversation_id, "Hello from the Northwind team!", "read")
    finally:
        instagram.receipts = ["delivery"]
    assert await conversation_of(live, "facebook", customer) is None   # Instagram's own channel


async def test_unsigned_or_wrongly_signed_webhooks_get_403_and_nothing_is_stored(world):
    messenger, instagram, live = world
    customer = psid()
    event = [messenger.text(customer, "hello")]
    assert (await messenger.send(event, signature=""))[0] == 403
    assert (await messenger.send(event, signature=messenger.signature(b"{}")))[0] == 403
    assert (await messenger.send(event, signature=messenger.signature(b"x", INSTAGRAM["secret"])))[0] == 403
    assert (await messenger.send(event, signature="sha1=" + "0" * 40))[0] == 403
    assert await conversation_of(live, "facebook", customer) is None
    assert not [m for m in messenger.sent if m["recipient"] == customer]


async def test_a_message_meta_delivers_twice_is_stored_once(world):
    messenger, _, live = world
    customer = psid()
    event = messenger.text(customer, "hello there", mid="m_" + uuid.uuid4().hex)
    assert (await messenger.send([event, event]))[0] == 200        # twice in one batch …
    assert (await messenger.send([event]))[0] == 200               # … and again later
    await messenger.wait_for(lambda m: m["recipient"] == customer)
    await settle(live)
    stored = await messages(live, await conversation_of(live, "facebook", customer))
    assert [m["sender"] for m in stored].count("customer") == 1
    assert len([m for m in messenger.sent if m["recipient"] == customer]) == len(stored) - 1


async def test_after_an_outage_the_reply_is_delivered_exactly_once(world):
    messenger, _, live = world
    customer = psid()
    await messenger.send([messenger.text(customer, "I want to talk to a person")])
    await messenger.wait_for(lambda m: m["recipient"] == customer)
    conversation_id = await conversation_of(live, "facebook", customer)
    async with Agent(live) as sam:
        await sam.reply(conversation_id, "Let me check.")
        await messenger.wait_for(lambda m: m["text"] == "Let me check.")
        refused_before = messenger.refused
        messenger.outage = 3
        await sam.reply(conversation_id, "Your parcel left our warehouse.")
    await messenger.wait_for(lambda m: m["text"] == "Your parcel left our warehouse.")
    delivery = await delivered_as(live, conversation_id, "Your parcel left our warehouse.", "delivered")
    await settle(live)
    assert messenger.refused - refused_before == 3 and delivery["attempts"] == 4
    assert len([m for m in messenger.sent if m["text"] == "Your parcel left our warehouse."]) == 1


async def test_an_agent_reply_after_the_24_hour_window_is_refused(world):
    messenger, _, live = world
    customer = psid()
    await messenger.send([messenger.text(customer, "I want to talk to a person")])
    await messenger.wait_for(lambda m: m["recipient"] == customer)
    conversation_id = await conversation_of(live, "facebook", customer)

    async def age(hours: float) -> None:
        async with live.services.store.conversations.sessions() as session, session.begin():
            await session.execute(update(Message).where(Message.conversation_id == conversation_id,
                                                        Message.sender == "customer")
                                  .values(created_at=utcnow() - timedelta(hours=hours)))

    await live.acall(age(30))
    async with Agent(live) as sam:
        status, body = await sam.reply(conversation_id, "Still there?")
    assert status == 409 and "24 hours" in body["message"], body
    assert await delivery_of(live, conversation_id, "Still there?") is None
    await eventually(lambda: _no_message(messenger, "Still there?"), timeout=1)


async def _no_message(fake, text):
    return not [m for m in fake.sent if m["text"] == text]
