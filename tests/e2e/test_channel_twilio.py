"""Twilio SMS and WhatsApp end to end: a local Twilio (Messages API, signed webhooks, status callbacks)
and a live Baton with the real model behind a public URL, as behind a proxy."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.store.tables import Message, utcnow
from tests.e2e.channel_support import (
    PUBLIC_URL, Agent, conversation_of, delivered_as, delivery_of, eventually, messages, settle, start_baton,
    stop_baton,
)
from tests.providers.twilio_api import FakeTwilio, twilio_signature

ACCOUNT, TOKEN = "AC" + "1" * 32, "twilio-auth-token-for-tests"
SMS_NUMBER, WA_NUMBER = "+15550000001", "whatsapp:+15550000002"
SMS_HOOK, WA_HOOK = "/webhooks/twilio/webhook", "/webhooks/whatsapp/webhook"


def customer_number() -> str:
    return "+1555" + str(uuid.uuid4().int)[:7]


@pytest.fixture(scope="module")
async def world(tmp_path_factory, faulty_engine, model_path):
    fake = await FakeTwilio(ACCOUNT, TOKEN).start()
    common = {"account_sid": ACCOUNT, "auth_token": TOKEN, "base_url": fake.url, "timeout_seconds": 1.0}
    live = await start_baton(tmp_path_factory.mktemp("twilio"), {
        "twilio": {**common, "twilio_number": SMS_NUMBER},
        "whatsapp": {**common, "twilio_number": WA_NUMBER}}, faulty_engine, model_path)
    fake.forward(PUBLIC_URL, live.url)
    yield fake, live
    await stop_baton(live)
    await fake.stop()


async def test_sms_bot_reply_handoff_and_agent_reply_go_through_the_messages_api(world):
    fake, live = world
    customer = customer_number()
    status, body = await fake.message_from(SMS_HOOK, customer, SMS_NUMBER, "hello there")
    assert status == 200 and "<Response></Response>" in body

    [greeting] = await fake.wait_for(lambda m: m["to"] == customer)
    assert greeting["from"] == SMS_NUMBER and greeting["body"].strip()
    assert greeting["status_callback"].startswith(f"{PUBLIC_URL}/webhooks/twilio/status?outbox=baton-")
    conversation_id = await conversation_of(live, "twilio", customer)
    assert await delivered_as(live, conversation_id, greeting["body"], "delivered")

    await fake.message_from(SMS_HOOK, customer, SMS_NUMBER, "I want to talk to a person")
    [notice] = await fake.wait_for(lambda m: m["to"] == customer and "queue" in (m["body"] or ""))
    assert "number 1" in notice["body"] or "number" in notice["body"]

    async with Agent(live) as sam:
        status, reply = await sam.reply(conversation_id, "Hi, Sam here. Let me look into it.")
        assert status == 200, reply
    joined, answer = await fake.wait_for(lambda m: m["to"] == customer and m["body"] in (
        "Sam joined the conversation.", "Hi, Sam here. Let me look into it."), count=2)
    assert [joined["body"], answer["body"]] == ["Sam joined the conversation.", "Hi, Sam here. Let me look into it."]
    assert answer["from"] == SMS_NUMBER
    delivery = await delivered_as(live, conversation_id, "Hi, Sam here. Let me look into it.", "delivered")
    assert delivery["status"] == "sent" and delivery["attempts"] == 1
    senders = [m["sender"] for m in await messages(live, conversation_id)]
    assert senders[:2] == ["customer", "bot"] and senders.count("customer") == 2 and "agent" in senders


async def test_whatsapp_round_trip_with_read_receipts_and_one_customer_across_channels(world):
    fake, live = world
    number = customer_number()
    await fake.message_from(SMS_HOOK, number, SMS_NUMBER, "hello")          # first by SMS …
    await fake.wait_for(lambda m: m["to"] == number)
    fake.callbacks = ["sent", "delivered", "read"]
    try:
        sender = f"whatsapp:{number}"                                          # … then on WhatsApp
        status, _ = await fake.message_from(WA_HOOK, sender, WA_NUMBER, "I want to talk to a person",
                                            ProfileName="Grace")
        assert status == 200
        [notice] = await fake.wait_for(lambda m: m["to"] == sender)
        assert notice["from"] == WA_NUMBER and "queue" in notice["body"]
        conversation_id = await conversation_of(live, "whatsapp", sender)
        async with Agent(live) as sam:
            status, _ = await sam.reply(conversation_id, "Hello Grace, how can I help?")
            assert status == 200
            await fake.wait_for(lambda m: m["to"] == sender and m["body"] == "Hello Grace, how can I help?")
            assert await delivered_as(live, conversation_id, "Hello Grace, how can I help?", "read")

            # Twilio proved the number on both channels: one customer, and the agent sees the SMS conversation.
            context = await sam.context(conversation_id)
            assert context["customer"]["phone"] == number
            assert {i["channel"] for i in context["customer"]["identities"]} == {"twilio", "whatsapp"}
            sms_conversation = await conversation_of(live, "twilio", number)
            assert sms_conversation in [c["id"] for c in context["earlier_conversations"]]
            assert context["customer"]["claims"].get("name") == "Grace"   # a profile name is only a claim
    finally:
        fake.callbacks = ["sent", "delivered"]


async def test_an_agent_reply_after_whatsappss_24_hours_is_refused_with_the_reason(world):
    fake, live = world
    sender = f"whatsapp:{customer_number()}"
    await fake.message_from(WA_HOOK, sender, WA_NUMBER, "I want to talk to a person")
    await fake.wait_for(lambda m: m["to"] == sender)
    conversation_id = await conversation_of(live, "whatsapp", sender)

    async def age_the_customers_messages(hours: float) -> None:
        async with live.services.store.conversations.sessions() as session, session.begin():
            await session.execute(update(Message).where(Message.conversation_id == conversation_id,
                                                        Message.sender == "customer")
                                  .values(created_at=utcnow() - timedelta(hours=hours)))

    await live.acall(age_the_customers_messages(25))
    before = len(await messages(live, conversation_id))
    async with Agent(live) as sam:
        status, body = await sam.reply(conversation_id, "Sorry for the wait!")
    assert status == 409 and body["error"] == "channel_refused", body
    assert "24 hours" in body["message"]
    assert len(await messages(live, conversation_id)) == before     # nothing stored
    assert not [m for m in fake.sent if m["to"] == sender and m["body"] == "Sorry for the wait!"]


async def test_unsigned_or_wrongly_signed_requests_get_403_and_nothing_is_stored(world):
    fake, live = world
    customer = customer_number()
    params = fake.inbound_params(customer, SMS_NUMBER, "hello")
    public = f"{PUBLIC_URL}{SMS_HOOK}"
    attempts = {
        "no signature": "",
        "another account's token": twilio_signature("not-the-token", public, params),
        "the internal address signed, not the public one": twilio_signature(TOKEN, f"{live.url}{SMS_HOOK}", params),
        "a field changed after signing": twilio_signature(TOKEN, public, {**params, "Body": "hi"}),
    }
    for what, signature in attempts.items():
        status, _ = await fake.signed_post(public, params, signature=signature)
        assert status == 403, what
    status, _ = await fake.signed_post(f"{PUBLIC_URL}/webhooks/twilio/status?outbox=baton-1",
                                       {"MessageSid": "SMx", "MessageStatus": "delivered"}, signature="forged")
    assert status == 403
    assert await conversation_of(live, "twilio", customer) is None
    assert not [m for m in fake.sent if m["to"] == customer]


async def test_a_webhook_twilio_repeats_is_stored_once_and_answered_once(world):
    fake, live = world
    customer, sid = customer_number(), "SM" + uuid.uuid4().hex
    for _ in range(3):
        status, _ = await fake.message_from(SMS_HOOK, customer, SMS_NUMBER, "hello there", sid=sid)
        assert status == 200
    await fake.wait_for(lambda m: m["to"] == customer)
    await settle(live)
    conversation_id = await conversation_of(live, "twilio", customer)
    stored = await messages(live, conversation_id)
    assert [m["sender"] for m in stored].count("customer") == 1
    replies = [m for m in stored if m["sender"] != "customer"]
    assert len([m for m in fake.sent if m["to"] == customer]) == len(replies) >= 1


async def test_after_an_outage_the_reply_is_delivered_exactly_once(world, caplog):
    fake, live = world
    caplog.set_level(logging.DEBUG)
    customer = customer_number()
    await fake.message_from(SMS_HOOK, customer, SMS_NUMBER, "I want to talk to a person")
    await fake.wait_for(lambda m: m["to"] == customer)
    conversation_id = await conversation_of(live, "twilio", customer)
    async with Agent(live) as sam:
        await sam.reply(conversation_id, "First, a hello.")
        await fake.wait_for(lambda m: m["to"] == customer and m["body"] == "First, a hello.")
        fake.outage = 3
        status, _ = await sam.reply(conversation_id, "Your refund is on its way.")
        assert status == 200

    retrying = await eventually(lambda: _pending_with_error(live, conversation_id, "Your refund is on its way."))
    assert "Twilio is unavailable (HTTP 503)" in retrying["error"]
    await fake.wait_for(lambda m: m["to"] == customer and m["body"] == "Your refund is on its way.")
    delivery = await delivered_as(live, conversation_id, "Your refund is on its way.", "delivered")
    await settle(live)
    assert fake.refused == 3
    assert delivery["status"] == "sent" and delivery["attempts"] == 4 and delivery["error"] is None
    assert len([m for m in fake.sent if m["body"] == "Your refund is on its way."]) == 1
    assert "delivery of message" in caplog.text and TOKEN not in caplog.text   # the failures were logged, no secret


async def _pending_with_error(live, conversation_id, text):
    delivery = await delivery_of(live, conversation_id, text)
    return delivery if delivery and delivery["status"] in ("pending", "sending") and delivery["error"] else None


async def test_a_send_whose_answer_is_lost_is_not_sent_again_and_twilios_report_settles_it(world):
    fake, live = world
    customer = customer_number()
    await fake.message_from(SMS_HOOK, customer, SMS_NUMBER, "I want to talk to a person")
    await fake.wait_for(lambda m: m["to"] == customer)
    conversation_id = await conversation_of(live, "twilio", customer)
    fake.late_answer = 2.5   # Twilio takes the message, but its answer comes after Baton's 1 s timeout
    try:
        async with Agent(live) as sam:
            await sam.reply(conversation_id, "Tracking number: 1Z999.")
        unknown = await eventually(lambda: _failed(live, conversation_id, "Tracking number: 1Z999."))
        assert "may have been delivered" in unknown["error"]
    finally:
        fake.late_answer = 0.0
    # Twilio's status callbacks name the outbox item: the message is marked delivered, never re-sent.
    delivery = await delivered_as(live, conversation_id, "Tracking number: 1Z999.", "delivered")
    assert delivery["status"] == "sent" and delivery["attempts"] == 1
    await settle(live)
    assert len([m for m in fake.sent if m["body"] == "Tracking number: 1Z999."]) == 1


async def _failed(live, conversation_id, text):
    delivery = await delivery_of(live, conversation_id, text)
    return delivery if delivery and delivery["status"] == "failed" else None
