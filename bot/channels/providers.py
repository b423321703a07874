"""The provider channels a credentials file turns on (Twilio SMS and WhatsApp, Telegram, Messenger,
Instagram, e-mail), built with what they need. `bot/app.py` registers and routes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from bot.channels.base import OutboundChannel
from bot.channels.credentials import ChannelCredentials
from bot.channels.delivery import DeliveryReports
from bot.channels.email import EmailChannel
from bot.channels.meta import meta_channels
from bot.channels.telegram import TelegramChannel
from bot.channels.twilio import twilio_channels
from bot.channels.webhooks import Scrubber
from bot.conversation import ConversationFlow
from bot.store.conversations import ConversationStore


@dataclass
class ProviderDeps:
    flow: ConversationFlow
    conversations: ConversationStore
    reports: DeliveryReports
    public_url: Optional[str]
    max_chars: int


def provider_channels(credentials: ChannelCredentials, deps: ProviderDeps) -> List[OutboundChannel]:
    scrub = Scrubber(credentials.secrets())
    common = dict(flow=deps.flow, conversations=deps.conversations, reports=deps.reports,
                  public_url=deps.public_url, max_chars=deps.max_chars, scrub=scrub)
    channels: List[OutboundChannel] = []
    channels += twilio_channels(credentials.twilio, credentials.whatsapp, credentials.whatsapp_on_twilio_path,
                                **common)
    channels += meta_channels(credentials.facebook, credentials.instagram, flow=deps.flow,
                              conversations=deps.conversations, reports=deps.reports, max_chars=deps.max_chars,
                              scrub=scrub)
    if credentials.telegram is not None:
        channels.append(TelegramChannel(credentials.telegram, deps.flow, deps.max_chars, scrub))
    if credentials.email is not None:
        channels.append(EmailChannel(credentials.email, deps.flow, deps.conversations, deps.max_chars, scrub))
    return channels
