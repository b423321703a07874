"""Web chat over Socket.IO, speaking Rasa's socketio channel protocol.

Existing Rasa widgets connect unchanged (`session_request` → `session_confirm`,
`user_uttered` → `bot_uttered`), but the session id is issued and signed by the
server: a client that sends someone else's id, or makes one up, gets a fresh
session, never another customer's conversation. Every refused event is answered
with an `error` event, so a customer never waits on silence.

Every connection gets Rasa's exact message shapes unless its `session_request`
asks for Baton's richer ones with `baton_protocol: 1`. The exactness matters:
rasa-webchat shows a text only when `text` is the message's only key, buttons
only when the message has exactly two keys, and silently drops anything else.
Sockets of one customer session may speak different shapes (a Rasa widget and
Baton's widget on the same id), so each session has one room per shape and
every message is emitted to both, each in its room's shape.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

from bot.channels.base import DeliveryReceipt, OutboundChannel
from bot.channels.inbound_validation import BadInput, clean_id, clean_metadata, clean_text
from bot.client_address import Network, client_address, peer_of_request
from bot.conversation import ConversationFlow
from bot.domain import CustomerClaims, InboundMessage, OutboundMessage, SenderKind
from bot.events import DomainEvent, EventBus, EventName
from bot.identity import IdentityVerifier, without_identity
from bot.rate_limit import RateLimiter
from bot.ratings import RatingRefused
from bot.sessions import SessionSigner
from bot.socketio_safety import SafeNamespace, failure
from bot.store.conversations import ConversationStore
from bot.waiting.room import EMAIL as EMAIL_ADDRESS

log = logging.getLogger(__name__)

NAME = "webchat"
BATON_PROTOCOL = 1  # the version of Baton's richer shape this server speaks
RASA_ROOM_PREFIX = "webchat:"  # sockets that get Rasa's shapes
BATON_ROOM_PREFIX = "webchat+:"  # sockets that asked for Baton's shape
TYPING_MIN_INTERVAL = 0.5   # seconds between typing events a customer may send


def stored_shape(message: OutboundMessage) -> Dict[str, Any]:
    """An outbound message in the stored-message shape the emitters below read."""
    payload = {k: v for k, v in (("buttons", message.buttons), ("image", message.image),
                                 ("custom", message.custom), ("rating_request", message.rating_request)) if v}
    return {"id": message.message_id, "sender": message.sender.value, "text": message.text,
            "payload": payload or None,
            "agent": {"display_name": message.agent_name} if message.agent_name else None}


def _output(message: Dict[str, Any]) -> Dict[str, Any]:
    """A stored message's text, buttons, image and custom payload, in Rasa's output keys."""
    out: Dict[str, Any] = {}
    if message.get("text"):
        out["text"] = message["text"]
    payload = message.get("payload") or {}
    for key in ("buttons", "image", "custom"):
        if payload.get(key) is not None:
            out[key] = payload[key]
    return out


def room_of(identity: str, baton_protocol: bool) -> str:
    return (BATON_ROOM_PREFIX if baton_protocol else RASA_ROOM_PREFIX) + identity


def rooms_of(identity: str) -> List[str]:
    """Both rooms of a customer session, for events whose shape is the same for everyone."""
    return [RASA_ROOM_PREFIX + identity, BATON_ROOM_PREFIX + identity]


def asks_for_baton_protocol(data: Any) -> bool:
    version = data.get("baton_protocol") if isinstance(data, dict) else None
    return type(version) is int and version >= BATON_PROTOCOL


def rasa_bot_uttered(message: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The `bot_uttered` payloads Rasa 3.6's SocketIOOutput emits for this message, in its order.

    Mirrors `OutputChannel.send_response`: text (with buttons, or split into paragraphs),
    then the custom payload, then the image, each as its own event.
    """
    out = _output(message)
    text = out.get("text", "")
    payloads: List[Dict[str, Any]] = []
    if out.get("buttons"):
        # Every paragraph is its own message; the buttons go on the last one.
        payloads += [{"text": part, "quick_replies": []} for part in text.strip().split("\n\n")]
        payloads[-1]["quick_replies"] = [
            {"content_type": "text", "title": button.get("title"), "payload": button.get("payload")}
            for button in out["buttons"]]
    elif text:
        payloads += [{"text": part} for part in text.strip().split("\n\n")]
    custom = rasa_custom_payload(out.get("custom"))
    if custom is not None:
        payloads.append(custom)
    if out.get("image"):
        payloads.append({"attachment": {"type": "image", "payload": {"src": out["image"]}}})
    return payloads


def rasa_custom_payload(custom: Any) -> Optional[Any]:
    """What a widget gets for a custom response.

    Rasa emits `sio.emit("bot_uttered", **custom)`, so custom responses written for its socketio
    channel are `{"data": …}` and the widget receives what is under `data`. Rasa fails on any other
    dict; Baton sends it as it is. The other keys emit() would take (room, to, namespace) are never
    honoured: a bot response must not choose who receives it.
    """
    if not custom:
        return None
    if isinstance(custom, dict) and "data" in custom:
        return custom["data"]
    return custom


def baton_bot_uttered(message: Dict[str, Any]) -> Dict[str, Any]:
    """A stored message in Baton's shape: Rasa's keys in one event, plus who sent it and its id."""
    out = _output(message)
    buttons = out.pop("buttons", None)
    if buttons:
        out["quick_replies"] = [{"content_type": "text", "title": b.get("title"), "payload": b.get("payload")}
                                for b in buttons]
    image = out.pop("image", None)
    if image:
        out["attachment"] = {"type": "image", "payload": {"src": image}}
    if message["sender"] in (SenderKind.AGENT.value, SenderKind.SYSTEM.value):
        out["sender"] = message["sender"]
    if message["sender"] == SenderKind.AGENT.value and message.get("agent"):
        out["agent_name"] = message["agent"]["display_name"]
    request = (message.get("payload") or {}).get("rating_request")
    if isinstance(request, dict):   # the widget shows the question as a control (who it is about stays here)
        out["rating_request"] = {k: request.get(k) for k in ("question", "scale", "score")}
    out["message_id"] = message["id"]
    return out


def client_ip(environ: Dict[str, Any], trusted_proxies: Sequence[Network] = ()) -> str:
    """The customer's address: the socket's peer (Engine.IO's REMOTE_ADDR is always 127.0.0.1)."""
    request = environ.get("aiohttp.request")
    peer = peer_of_request(request) if request is not None else environ.get("REMOTE_ADDR")
    return client_address(peer, environ.get("HTTP_X_FORWARDED_FOR"), trusted_proxies)


class WebChatNamespace(SafeNamespace):
    def __init__(self, flow: ConversationFlow, conversations: ConversationStore, bus: EventBus,
                 signer: SessionSigner, identities: IdentityVerifier, max_chars: int,
                 messages_per_minute: int, sessions_per_minute_per_ip: int,
                 trusted_proxies: Sequence[Network] = ()) -> None:
        super().__init__("/")
        self.flow = flow
        self.conversations = conversations
        self.bus = bus
        self.signer = signer
        self.identities = identities
        self.max_chars = max_chars
        self.trusted_proxies = list(trusted_proxies)
        self.message_limit = RateLimiter(messages_per_minute)
        self.session_limit = RateLimiter(sessions_per_minute_per_ip)
        self.waiting: Optional[Any] = None   # the waiting room (bot/waiting), set by the app
        self.ratings: Optional[Any] = None   # the satisfaction rating (bot/ratings.py), set by the app
        # The widget's texts and colour defaults admins set (bot/operations_settings.py); the embed's own
        # data-* attributes win over them.
        self.widget_defaults: Callable[[], Dict[str, str]] = dict

    async def on_connect(self, sid: str, environ: Dict[str, Any], auth: Any = None) -> None:
        await self.save_session(sid, {"ip": client_ip(environ, self.trusted_proxies), "session_id": None,
                                      "identity": None, "typing_at": 0.0, "typing": None})

    async def refuse(self, sid: Any, code: str, message: str) -> Dict[str, Any]:
        if sid is not None:
            await self.emit("error", {"error": code, "message": message}, to=sid)
        return failure(code, message)

    async def on_session_request(self, sid: str, data: Any = None) -> Dict[str, Any]:
        session = await self.get_session(sid)
        requested = data.get("session_id") if isinstance(data, dict) else None
        baton_protocol = asks_for_baton_protocol(data)
        identity = self.signer.verify(requested)
        if identity is None:
            if not self.session_limit.allow(session["ip"]):
                return await self.refuse(sid, "rate_limited", "Too many new chats from your network; wait a minute.")
            requested = self.signer.issue()
            identity = self.signer.verify(requested)
            resumed = False
        else:
            resumed = True
        if session.get("identity"):
            await self.leave_room(sid, room_of(session["identity"], session.get("baton_protocol", False)))
        session.update(session_id=requested, identity=identity, baton_protocol=baton_protocol)
        await self.save_session(sid, session)
        await self.enter_room(sid, room_of(identity, baton_protocol))
        if not baton_protocol:
            # Rasa sends the bare id and no history: its widgets keep their own transcript.
            await self.emit("session_confirm", requested, to=sid)
            return {"ok": True, "session_id": requested}
        await self.emit("session_confirm", {"session_id": requested, "baton_protocol": BATON_PROTOCOL,
                                            "max_message_chars": self.max_chars,
                                            "widget": self.widget_defaults()}, to=sid)
        if resumed:
            await self.emit("history", {"session_id": requested, "messages": await self._history(identity)},
                            to=sid)
            await self._current_wait_status(sid, identity)
        return {"ok": True, "session_id": requested}

    async def _current_wait_status(self, sid: str, identity: str) -> None:
        """A customer who comes back while waiting sees the waiting state at once, not "Online"."""
        if self.waiting is None:
            return
        conversation_id = await self.conversations.latest_conversation_for(NAME, identity)
        status = await self.waiting.status(conversation_id) if conversation_id is not None else None
        if status is not None and status.state in ("waiting", "assigned"):
            await self.emit("queue_status", status.as_json(), to=sid)

    async def _history(self, identity: str) -> List[Dict[str, Any]]:
        """The customer's side of the conversation in Baton's shape (notes are for agents only)."""
        shown = []
        for view in await self.conversations.history_for(NAME, identity):
            message = view.as_json()
            if view.sender is SenderKind.CUSTOMER:
                shown.append({"sender": "customer", "text": message["text"], "message_id": message["id"]})
            else:
                shown.append({"sender": message["sender"], **baton_bot_uttered(message)})
        return shown

    async def _send(self, identity: str, message: Dict[str, Any]) -> None:
        """One stored message to every socket of the session, each room in its own shape."""
        for payload in rasa_bot_uttered(message):
            await self.emit("bot_uttered", payload, room=RASA_ROOM_PREFIX + identity)
        await self.emit("bot_uttered", baton_bot_uttered(message), room=BATON_ROOM_PREFIX + identity)

    async def on_user_uttered(self, sid: str, data: Any = None) -> Optional[Dict[str, Any]]:
        session = await self.get_session(sid)
        identity = session.get("identity")
        if not identity:
            return await self.refuse(sid, "no_session", "Send session_request first.")
        if not isinstance(data, dict):
            return await self.refuse(sid, "malformed", "user_uttered expects {message, session_id}.")
        if data.get("session_id") not in (None, session["session_id"]):
            return await self.refuse(sid, "session_mismatch", "This connection belongs to another session.")
        try:
            text = clean_text(data.get("message"), self.max_chars)
            custom = clean_metadata(data.get("customData") if data.get("customData") is not None
                                    else data.get("metadata"), "customData")
            message_id = clean_id(data.get("message_id", custom.pop("message_id", None)), "message_id",
                                  required=False)
        except BadInput as exc:
            return await self.refuse(sid, exc.code, exc.message)
        if not self.message_limit.allow(identity):
            return await self.refuse(sid, "rate_limited", "You're sending messages too quickly; please wait a moment.")
        room = rooms_of(identity)
        await self.emit("typing", {"who": "bot", "typing": True}, room=room)
        inbound = InboundMessage(channel=NAME, external_id=identity, text=text, channel_message_id=message_id,
                                 metadata=without_identity(custom), customer=self.identities.claims(custom))
        try:
            result = await self.flow.handle(inbound)
        finally:
            await self.emit("typing", {"who": "bot", "typing": False}, room=room)
        for reply in result.replies:
            await self._send(identity, reply.as_json())
        return {"ok": True, "message_id": result.customer_message_id}

    async def on_typing(self, sid: str, data: Any = None) -> Optional[Dict[str, Any]]:
        session = await self.get_session(sid)
        if not session.get("identity"):
            return await self.refuse(sid, "no_session", "Send session_request first.")
        if not isinstance(data, dict) or not isinstance(data.get("typing"), bool):
            return await self.refuse(sid, "malformed", "typing expects {typing: true|false}.")
        typing = data["typing"]
        now = time.monotonic()
        # A customer's keyboard reaches every console: only changes, and starts at most every
        # TYPING_MIN_INTERVAL. A stop always goes out, or consoles would show "typing…" after the
        # customer stopped; so a flood of toggles reaches them a few times a second at most.
        if typing == session.get("typing") and now - session.get("typing_at", 0.0) < 5.0:
            return {"ok": True}
        if typing and now - session.get("typing_at", 0.0) < TYPING_MIN_INTERVAL:
            return {"ok": True, "throttled": True}
        session.update(typing=typing, typing_at=now)
        await self.save_session(sid, session)
        conversation_id = await self.conversations.latest_conversation_for(NAME, session["identity"])
        if conversation_id is not None:
            self.bus.publish(DomainEvent(EventName.TYPING, conversation_id,
                                         data={"who": "customer", "typing": typing}))
        return {"ok": True}

    async def on_leave_message(self, sid: str, data: Any = None) -> Dict[str, Any]:
        """The leave-a-message form: an e-mail address for the answer, and optionally a message.

        Offered when nobody is in or the wait grew long. The message is an ordinary customer
        message (stored, shown to agents; the bot stays silent while the conversation waits).
        """
        session = await self.get_session(sid)
        identity = session.get("identity")
        if not identity:
            return await self.refuse(sid, "no_session", "Send session_request first.")
        if not isinstance(data, dict):
            return await self.refuse(sid, "malformed", "leave_message expects {email, message}.")
        email = data.get("email")
        if not isinstance(email, str) or len(email) > 320 or not EMAIL_ADDRESS.fullmatch(email.strip()):
            return await self.refuse(sid, "bad_email", "Please enter a valid e-mail address.")
        email = email.strip()
        text = None
        if data.get("message") not in (None, ""):
            try:
                text = clean_text(data.get("message"), self.max_chars)
            except BadInput as exc:
                return await self.refuse(sid, exc.code, exc.message)
        conversation_id = await self.conversations.latest_conversation_for(NAME, identity)
        status = await self.waiting.status(conversation_id) if self.waiting and conversation_id else None
        if status is None or status.state != "waiting":
            return await self.refuse(sid, "not_waiting", "Nobody is waiting for a person in this chat.")
        if not self.message_limit.allow(identity):
            return await self.refuse(sid, "rate_limited", "You're sending messages too quickly; please wait a moment.")
        if text:
            result = await self.flow.handle(InboundMessage(
                channel=NAME, external_id=identity, text=text, metadata={"left_message": True},
                customer=CustomerClaims(email=email)))
            for reply in result.replies:
                await self._send(identity, reply.as_json())
        # Its confirmation reaches the customer through delivery, like every notice.
        await self.waiting.leave_contact(conversation_id, email)
        return {"ok": True}

    async def on_rate(self, sid: str, data: Any = None) -> Dict[str, Any]:
        """The customer answers the satisfaction question: `{message_id, score}` (1 to 5)."""
        session = await self.get_session(sid)
        identity = session.get("identity")
        if not identity:
            return await self.refuse(sid, "no_session", "Send session_request first.")
        if not isinstance(data, dict) or self.ratings is None:
            return await self.refuse(sid, "malformed", "rate expects {message_id, score}.")
        conversation_id = await self.conversations.latest_conversation_for(NAME, identity)
        if conversation_id is None:
            return await self.refuse(sid, "not_a_question", "There is nothing to rate in this chat.")
        try:
            await self.ratings.rate(conversation_id, data.get("message_id"), data.get("score"))
        except RatingRefused as exc:
            return await self.refuse(sid, exc.code, exc.message)
        return {"ok": True, "score": data["score"]}

    # ---- outbound ------------------------------------------------------------

    async def deliver(self, external_id: str, message: OutboundMessage) -> None:
        await self._send(external_id, stored_shape(message))

    async def show_agent_typing(self, external_id: str, typing: bool) -> None:
        await self.emit("typing", {"who": "agent", "typing": typing}, room=rooms_of(external_id))

    async def show_wait_status(self, external_id: str, status: Dict[str, Any]) -> None:
        # Only Baton's widget knows this event; Rasa's widgets would show nothing anyway.
        await self.emit("queue_status", status, room=BATON_ROOM_PREFIX + external_id)


class WebChatChannel(OutboundChannel):
    """The outbound half, registered under the channel's name: it shows everything, so nothing degrades."""

    name = NAME
    answers_in_turn = True
    shows_wait_status = True
    shows_rating = True

    def __init__(self, namespace: WebChatNamespace) -> None:
        self.namespace = namespace

    async def deliver(self, external_id: str, message: OutboundMessage,
                      idempotency_key: Optional[str] = None) -> Optional[DeliveryReceipt]:
        await self.namespace.deliver(external_id, message)
        return DeliveryReceipt()

    async def typing(self, external_id: str, typing: bool) -> None:
        await self.namespace.show_agent_typing(external_id, typing)

    async def show_wait_status(self, external_id: str, status: Dict[str, Any]) -> None:
        await self.namespace.show_wait_status(external_id, status)

