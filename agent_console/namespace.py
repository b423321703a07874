"""The agents' Socket.IO namespace (`/agents`): live queue, actions, presence, replay.

Authentication happens in `on_connect` (session cookie or `auth.token`); every
event checks the caller's role again, so hiding a button is never the only guard.
"""

from __future__ import annotations

import functools
import logging
from http.cookies import SimpleCookie
from typing import Any, Dict

import socketio

from agent_console.auth import AGENT_ROLES, COOKIE, READ_ROLES, origin_allowed
from agent_console.customer_context import customer_context
from bot.store.repository import NotFound, OPEN_STATUSES
from bot.store.serialize import user_full
from bot.takeover import ActionError

log = logging.getLogger(__name__)

ROOM = "agents"


def _fail(code: str, message: str) -> Dict[str, Any]:
    return {"ok": False, "error": code, "message": message}


def allowed_roles(*roles: str):
    """Event decorator: checks the role, turns ActionError into a failed ack."""

    def decorate(handler):
        @functools.wraps(handler)
        async def wrapped(self: "AgentNamespace", sid: str, data: Any = None):
            session = await self.get_session(sid)
            user = await self.services.accounts.by_id(session.get("user_id", -1))
            if user is None or not user.active:
                await self.disconnect(sid)
                return _fail("unauthenticated", "your session has ended; log in again")
            if user.role not in roles:
                return _fail("forbidden", f"a {user.role} may not do this")
            if data is not None and not isinstance(data, dict):
                return _fail("malformed", "expected an object")
            try:
                return await handler(self, sid, user, data or {})
            except ActionError as exc:
                return _fail(exc.code, exc.message)
            except NotFound as exc:
                return _fail("not_found", str(exc))
            except (TypeError, ValueError) as exc:
                return _fail("malformed", str(exc))

        return wrapped

    return decorate


def _int(data: Dict[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"`{key}` must be an id")
    return int(value)


class AgentNamespace(socketio.AsyncNamespace):
    def __init__(self, services) -> None:
        super().__init__("/agents")
        self.services = services

    async def on_connect(self, sid: str, environ: Dict[str, Any], auth: Any = None) -> None:
        settings = self.services.settings
        origin = environ.get("HTTP_ORIGIN")
        if not origin_allowed(origin, environ.get("HTTP_HOST"), settings.console_origins):
            raise socketio.exceptions.ConnectionRefusedError("origin not allowed for the agent console")
        token = auth.get("token") if isinstance(auth, dict) else None
        if not token:
            cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
            token = cookie[COOKIE].value if COOKIE in cookie else None
        user = await self.services.accounts.user_for_token(token)
        if user is None or user.role not in READ_ROLES:
            raise socketio.exceptions.ConnectionRefusedError("log in first")
        await self.save_session(sid, {"user_id": user.id})
        await self.enter_room(sid, ROOM)
        self.services.presence.connected(user.id, sid)
        conversations = await self.services.store.list_conversations(OPEN_STATUSES, 200)
        await self.emit("queue", {"conversations": conversations, "me": user_full(user)}, to=sid)
        await self.broadcast_presence()

    async def on_disconnect(self, sid: str, *args: Any) -> None:
        session = await self.get_session(sid)
        if session.get("user_id"):
            self.services.presence.disconnected(session["user_id"], sid)
            await self.broadcast_presence()

    async def broadcast_presence(self) -> None:
        await self.emit("presence", {"agents": await self.services.presence.roster()}, room=ROOM)

    @allowed_roles(*READ_ROLES)
    async def on_open(self, sid, user, data):
        store = self.services.store
        conversation_id = _int(data, "conversation_id")
        conversation = await store.summary(conversation_id)
        context = None
        if user.role in AGENT_ROLES:
            context = await customer_context(store, self.services.context_provider, conversation_id)
        return {"ok": True, "conversation": conversation, "messages": await store.messages(conversation_id),
                "context": context}

    @allowed_roles(*AGENT_ROLES)
    async def on_claim(self, sid, user, data):
        return {"ok": True, "conversation": await self.services.takeover.claim(_int(data, "conversation_id"), user)}

    @allowed_roles(*AGENT_ROLES)
    async def on_reply(self, sid, user, data):
        message = await self.services.takeover.reply(_int(data, "conversation_id"), user, data.get("text"))
        return {"ok": True, "message": message}

    @allowed_roles(*AGENT_ROLES)
    async def on_note(self, sid, user, data):
        message = await self.services.takeover.note(_int(data, "conversation_id"), user, data.get("text"))
        return {"ok": True, "message": message}

    @allowed_roles(*AGENT_ROLES)
    async def on_transfer(self, sid, user, data):
        target = await self.services.accounts.by_id(_int(data, "agent_id"))
        if target is None:
            return _fail("not_found", "no such agent")
        conversation = await self.services.takeover.transfer(_int(data, "conversation_id"), target, user)
        return {"ok": True, "conversation": conversation}

    @allowed_roles(*AGENT_ROLES)
    async def on_hand_back(self, sid, user, data):
        return {"ok": True,
                "conversation": await self.services.takeover.hand_back(_int(data, "conversation_id"), user)}

    @allowed_roles(*AGENT_ROLES)
    async def on_resolve(self, sid, user, data):
        return {"ok": True,
                "conversation": await self.services.takeover.resolve(_int(data, "conversation_id"), user)}

    @allowed_roles(*AGENT_ROLES)
    async def on_typing(self, sid, user, data):
        conversation_id = _int(data, "conversation_id")
        await self.services.show_agent_typing(conversation_id, bool(data.get("typing")))
        await self.emit("typing", {"conversation_id": conversation_id, "who": "agent", "agent_id": user.id,
                                   "typing": bool(data.get("typing"))}, room=ROOM, skip_sid=sid)
        return {"ok": True}

    @allowed_roles(*READ_ROLES)
    async def on_presence(self, sid, user, data):
        status = data.get("status")
        if status not in ("online", "away"):
            return _fail("malformed", "status is online or away")
        self.services.presence.set_status(user.id, status)
        await self.broadcast_presence()
        return {"ok": True}

    @allowed_roles(*READ_ROLES)
    async def on_label(self, sid, user, data):
        message = await self.services.takeover.label(
            _int(data, "message_id"), user, data.get("intent"), bool(data.get("out_of_scope")))
        return {"ok": True, "message": message}

    @allowed_roles(*READ_ROLES)
    async def on_sync(self, sid, user, data):
        after = data.get("after_id", 0)
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            return _fail("malformed", "after_id must be a non-negative integer")
        messages = await self.services.store.messages_after(after)
        conversations = await self.services.store.list_conversations(OPEN_STATUSES, 200)
        return {"ok": True, "messages": messages, "conversations": conversations}
