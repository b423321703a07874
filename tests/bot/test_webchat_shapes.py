"""Web chat message shapes, with Rasa 3.6's own SocketIOOutput as the reference.

Each stored message goes through Rasa's real `SocketIOOutput.send_response` (on a server that
records what it is asked to emit) and through Baton's `rasa_bot_uttered`: the payloads, their
number and their order must be the same.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
import socketio
from rasa.core.channels.socketio import SocketIOOutput

from bot.channels.webchat import _output as rasa_output
from bot.channels.webchat import baton_bot_uttered, rasa_bot_uttered

BUTTONS = [{"title": "Track my order", "payload": "/order_status"}, {"title": "Returns", "payload": "/return_policy"}]


class RecordingServer(socketio.AsyncServer):
    """A real AsyncServer whose emit (same signature) records instead of sending."""

    def __init__(self) -> None:
        super().__init__(async_mode="asgi")
        self.sent: List[Any] = []

    async def emit(self, event, data=None, to=None, room=None, skip_sid=None, namespace=None, callback=None,
                   ignore_queue=False):
        assert event == "bot_uttered" and (to or room) == "recipient"
        self.sent.append(data)


async def what_rasa_emits(message: Dict[str, Any]) -> List[Any]:
    server = RecordingServer()
    await SocketIOOutput(server, "bot_uttered").send_response("recipient", rasa_output(message))
    return server.sent


def stored(sender: str = "bot", text: str = "", payload: Optional[Dict[str, Any]] = None,
           agent: Optional[str] = None) -> Dict[str, Any]:
    """A message as the store serialises it."""
    return {"id": 7, "sender": sender, "text": text, "payload": payload,
            "agent": {"display_name": agent} if agent else None}


@pytest.mark.parametrize("message", [
    stored(text="We open at 9."),
    stored(text="First paragraph.\n\nSecond paragraph.\n\n"),
    stored(text="Hi!\n\nWhat can I do for you?", payload={"buttons": BUTTONS}),
    stored(text="Pick one", payload={"buttons": BUTTONS, "image": "https://shop.example/a.png"}),
    stored(payload={"image": "https://shop.example/size-guide.png"}),
    stored(text="Here it is:", payload={"custom": {"data": {"attachment": {"type": "video", "payload": {
        "src": "https://shop.example/how-to.mp4"}}}}}),
    stored(sender="agent", text="Hello, Alex here.\n\nLet me check.", agent="Alex"),
    stored(sender="system", text="You're number 1 in the queue.", payload={"queue_position": 1}),
], ids=["text", "paragraphs", "buttons", "buttons+image", "image", "text+custom", "agent", "system"])
async def test_rasa_shape_is_what_rasa_emits(message):
    assert rasa_bot_uttered(message) == await what_rasa_emits(message)


def test_rasa_shape_of_an_agent_reply_has_no_baton_keys():
    assert rasa_bot_uttered(stored(sender="agent", text="Hi", agent="Alex")) == [{"text": "Hi"}]


def test_a_custom_payload_rasa_would_fail_on_is_sent_as_it_is_and_never_addresses_a_room():
    assert rasa_bot_uttered(stored(payload={"custom": {"blocks": [1]}})) == [{"blocks": [1]}]
    assert rasa_bot_uttered(stored(payload={"custom": {"data": {"x": 1}, "room": "webchat:someone-else"}})) == [
        {"x": 1}]


def test_baton_shape_is_one_event_with_sender_agent_and_id():
    assert baton_bot_uttered(stored(text="Hi!\n\nHow can I help?", payload={"buttons": BUTTONS})) == {
        "text": "Hi!\n\nHow can I help?", "message_id": 7,
        "quick_replies": [{"content_type": "text", **b} for b in BUTTONS]}
    assert baton_bot_uttered(stored(sender="agent", text="Hi", agent="Alex")) == {
        "text": "Hi", "sender": "agent", "agent_name": "Alex", "message_id": 7}
    assert baton_bot_uttered(stored(sender="system", text="Queued", payload={"queue_position": 1})) == {
        "text": "Queued", "sender": "system", "message_id": 7}
