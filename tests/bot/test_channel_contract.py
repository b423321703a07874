"""The outbound channel contract: what a text-only channel makes of rich replies (as Rasa's OutputChannel)."""

from __future__ import annotations

from bot.channels.base import OutboundChannel, rasa_output, text_with_options
from bot.domain import OutboundMessage, SenderKind


class Collecting(OutboundChannel):
    name = "collect"

    def __init__(self) -> None:
        self.texts = []

    async def send_text(self, external_id, text, message, idempotency_key):
        self.texts.append(text)


def message(**fields) -> OutboundMessage:
    return OutboundMessage(conversation_id=1, message_id=2, sender=SenderKind.BOT, **fields)


async def test_buttons_become_numbered_lines_and_images_their_url():
    channel = Collecting()
    await channel.deliver("x", message(text="Pick one", buttons=[{"title": "Returns", "payload": "/returns"},
                                                                 {"payload": "/human"}]))
    await channel.deliver("x", message(image="https://example.com/a.png"))
    await channel.deliver("x", message(text="Here it is", image="https://example.com/b.png"))
    assert channel.texts == ["Pick one\n1: Returns\n2: /human", "Image: https://example.com/a.png",
                             "Here it is", "Image: https://example.com/b.png"]


async def test_typing_is_a_no_op_unless_a_channel_has_it():
    assert await Collecting().typing("x", True) is None


def test_rasa_output_keeps_only_what_is_there():
    assert rasa_output(message(text="hi")) == {"text": "hi"}
    assert rasa_output(message(text="", custom={"a": 1})) == {"custom": {"a": 1}}
    assert text_with_options("", [{"title": "A"}]) == "1: A"
