"""WhatsApp's 24-hour window, against a local Twilio: refused without a template, sent as one with it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Optional

import pytest

from bot.channels.base import DeliveryFailed
from bot.channels.credentials import TwilioCredentials
from bot.channels.twilio import TwilioChannel
from bot.channels.webhooks import Scrubber
from bot.domain import OutboundMessage, SenderKind
from tests.providers.twilio_api import FakeTwilio

ACCOUNT, TOKEN = "AC" + "2" * 32, "token"


class LastWrote:
    """The one store read the window needs: when the customer last wrote."""

    def __init__(self, hours_ago: Optional[float]) -> None:
        self.hours_ago = hours_ago

    async def last_customer_message_at(self, conversation_id: int) -> Optional[datetime]:
        if self.hours_ago is None:
            return None
        return datetime.now(timezone.utc) - timedelta(hours=self.hours_ago)


@pytest.fixture
async def twilio():
    fake = await FakeTwilio(ACCOUNT, TOKEN).start()
    yield fake
    await fake.stop()


def whatsapp(fake: FakeTwilio, hours_ago: Optional[float], template: Optional[str] = None) -> TwilioChannel:
    creds = TwilioCredentials(account_sid=ACCOUNT, auth_token=TOKEN, twilio_number="whatsapp:+15550000009",
                              base_url=fake.url, timeout_seconds=2.0, template_content_sid=template)
    return TwilioChannel("whatsapp", creds, flow=None, conversations=LastWrote(hours_ago), reports=None,
                         public_url=None, max_chars=4000, scrub=Scrubber([TOKEN]))


def agent_reply(text: str) -> OutboundMessage:
    return OutboundMessage(conversation_id=1, message_id=7, sender=SenderKind.AGENT, text=text, agent_name="Sam")


async def test_inside_the_window_a_reply_is_free_form(twilio):
    channel = whatsapp(twilio, hours_ago=2)
    try:
        assert await channel.agent_reply_refusal(1) is None
        receipt = await channel.deliver("whatsapp:+15551234567", agent_reply("Hello!"), "baton-1")
    finally:
        await channel.stop()
    assert receipt.provider_message_id.startswith("SM") and receipt.provider_status == "accepted"
    [sent] = twilio.sent
    assert (sent["to"], sent["from"], sent["body"], sent["content_sid"]) == (
        "whatsapp:+15551234567", "whatsapp:+15550000009", "Hello!", None)


async def test_after_the_window_a_reply_is_refused_with_the_reason_and_never_sent(twilio):
    channel = whatsapp(twilio, hours_ago=25)
    try:
        reason = await channel.agent_reply_refusal(1)
        assert "24 hours" in reason and "template" in reason
        with pytest.raises(DeliveryFailed) as failed:   # one queued before the window closed
            await channel.deliver("whatsapp:+15551234567", agent_reply("Late"), "baton-2")
        assert not failed.value.retry
    finally:
        await channel.stop()
    assert twilio.sent == []


async def test_after_the_window_a_configured_template_carries_the_reply(twilio):
    channel = whatsapp(twilio, hours_ago=30, template="HX" + "a" * 32)
    try:
        assert await channel.agent_reply_refusal(1) is None
        await channel.deliver("whatsapp:+15551234567", agent_reply("Your parcel arrived."), "baton-3")
    finally:
        await channel.stop()
    [sent] = twilio.sent
    assert sent["content_sid"] == "HX" + "a" * 32 and sent["body"] is None
    assert json.loads(sent["content_variables"]) == {"1": "Your parcel arrived."}


async def test_sms_has_no_window(twilio):
    creds = TwilioCredentials(account_sid=ACCOUNT, auth_token=TOKEN, twilio_number="+15550000009", base_url=twilio.url)
    channel = TwilioChannel("twilio", creds, flow=None, conversations=LastWrote(None), reports=None, public_url=None,
                            max_chars=4000, scrub=Scrubber([TOKEN]))
    assert await channel.agent_reply_refusal(1) is None
