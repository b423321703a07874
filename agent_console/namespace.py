"""The agents' real-time channel (`/agents`): the live queue, actions, presence, replay on reconnect.

A console connects with its login session (the cookie, or `auth.token`). The session is
checked again on every event, so a logout, an expired session or a deactivated user stops a
socket at once; each event checks the caller's role too, so hiding a button is never the
only guard. The agent actions come from the one action table (`actions.py`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from http.cookies import CookieError, SimpleCookie
from typing import Any, Dict, Optional, Sequence, Set

import socketio

from agent_console.accounts import Accounts, session_digest
from agent_console.actions import ACTIONS, Action, ActionDeps, run_action
from agent_console.auth import COOKIE, origin_allowed
from agent_console.console_census import ConsoleCensus
from agent_console.customer_context import CustomerContext
from agent_console.presence import Presence
from agent_console.schemas import (
    BadRequest, ConversationRef, MessageRef, PresenceBody, SyncBody, parse,
)
from bot.domain import AGENT_ROLES, ANY_ROLE, TRAINER_ROLES
from bot.socketio_safety import SafeNamespace, failure
from bot.store.conversations import OPEN_STATUSES, ConversationStore, NotFound
from bot.views import UserView, all_json

log = logging.getLogger(__name__)

ROOM = "agents"
# The trainer workbench's live events (inbox items, verdicts, training, settings): trainers and
# admins only, so an agent's browser never receives what its role may not open.
TRAINER_ROOM = "trainers"
# Presence changes this close together go out as one roster. Without it, a hundred consoles
# connecting at once each sent a hundred-entry roster to every console: a million entries.
PRESENCE_COALESCE_SECONDS = 0.1


def _token_from(environ: Dict[str, Any], auth: Any) -> Optional[str]:
    token = auth.get("token") if isinstance(auth, dict) else None
    if isinstance(token, str) and token:
        return token
    try:
        cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
    except CookieError:
        return None
    return cookie[COOKIE].value if COOKIE in cookie else None


class AgentNamespace(SafeNamespace):
    def __init__(self, accounts: Accounts, conversations: ConversationStore, presence: Presence,
                 deps: ActionDeps, context: CustomerContext, allowed_origins: Sequence[str],
                 census: Optional[ConsoleCensus] = None) -> None:
        super().__init__("/agents")
        self.accounts = accounts
        self.conversations = conversations
        self.presence = presence
        self.deps = deps
        self.context = context
        self.allowed_origins = list(allowed_origins)
        self._sids_by_login: Dict[str, Set[str]] = defaultdict(set)
        self._closing: Set[asyncio.Task] = set()
        self._presence_task: Optional[asyncio.Task] = None
        self.census = census   # with a Redis manager: which workers have consoles connected

    async def on_connect(self, sid: str, environ: Dict[str, Any], auth: Any = None) -> None:
        if not origin_allowed(environ.get("HTTP_ORIGIN"), self.allowed_origins):
            raise socketio.exceptions.ConnectionRefusedError("origin not allowed for the agent console")
        token = _token_from(environ, auth)
        user = await self.accounts.user_for_token(token)
        if user is None or user.role not in ANY_ROLE:
            raise socketio.exceptions.ConnectionRefusedError("log in first")
        digest = session_digest(token)
        await self.save_session(sid, {"user_id": user.id, "login": digest})
        self._sids_by_login[digest].add(sid)
        if self.census is not None:
            await self.census.connected()   # before the queue is read (console_census says why)
        await self.enter_room(sid, ROOM)
        if user.role in TRAINER_ROLES:
            await self.enter_room(sid, TRAINER_ROOM)
        self.presence.connected(user.id, sid)
        conversations = await self.conversations.list_conversations(OPEN_STATUSES, 200)
        await self.emit("queue", {"conversations": all_json(conversations), "me": user.as_json()}, to=sid)
        await self.broadcast_presence()

    async def may_have_listeners(self) -> bool:
        """False only when no console can hear an emit: none is connected here, and none to a
        worker that shares this server's events (a pub/sub manager such as Redis: the census)."""
        if type(self.server.manager) is socketio.AsyncManager:
            return any(self._sids_by_login.values())
        return True if self.census is None else await self.census.anyone()

    async def on_disconnect(self, sid: str, *args: Any) -> None:
        session = await self.get_session(sid)
        if session.get("login"):
            if self.census is not None and sid in self._sids_by_login.get(session["login"], ()):
                await self.census.disconnected()
            self._sids_by_login[session["login"]].discard(sid)
            if not self._sids_by_login[session["login"]]:
                del self._sids_by_login[session["login"]]
        if session.get("user_id"):
            self.presence.disconnected(session["user_id"], sid)
            await self.broadcast_presence()

    async def broadcast_presence(self) -> None:
        """Every console hears the roster soon; changes that come together share one roster."""
        if self._presence_task is None:
            self._presence_task = asyncio.get_running_loop().create_task(self._send_presence())

    async def _send_presence(self) -> None:
        try:
            await asyncio.sleep(PRESENCE_COALESCE_SECONDS)
        finally:
            self._presence_task = None   # a change from here on is in the next roster
        try:
            if await self.may_have_listeners():
                await self.emit("presence", {"agents": await self.presence.roster()}, room=ROOM)
        except Exception:  # a lost roster is repaired by the next change; it must not end quietly
            log.exception("could not send the presence roster")

    async def close(self) -> None:
        """At shutdown: a roster still waiting to go out has nobody left to hear it."""
        task = self._presence_task
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self.census is not None:
            await self.census.close()

    # ---- sessions that end ----------------------------------------------------

    async def end_login(self, digest: Optional[str]) -> None:
        """A login session ended (logout): its sockets go with it."""
        for sid in list(self._sids_by_login.get(digest or "", ())):
            await self.disconnect(sid)

    async def end_logins(self, digests) -> None:
        for digest in digests:
            await self.end_login(digest)

    async def _caller(self, sid: str) -> Optional[UserView]:
        """The socket's user, if its login session is still alive; otherwise the socket is closed."""
        session = await self.get_session(sid)
        user = await self.accounts.user_for_digest(session.get("login"))
        if user is None:
            self._disconnect_after_answer(sid)
        return user

    def _disconnect_after_answer(self, sid: str) -> None:
        """Close the socket once this event's answer is on its way.

        python-socketio sends the acknowledgement after the handler returns; disconnecting inside
        the handler would reach the client first, and the console would wait for an answer that
        is never delivered. A task starts after the handler's answer was queued on the socket.
        """
        task = asyncio.get_running_loop().create_task(self.disconnect(sid))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _authorised(self, sid: str, roles) -> UserView | Dict[str, Any]:
        user = await self._caller(sid)
        if user is None:
            return failure("unauthenticated", "your session has ended; log in again")
        if user.role not in roles:
            return failure("forbidden", f"a {user.role.value} may not do this")
        return user

    # ---- events -------------------------------------------------------------

    async def _act(self, action: Action, sid: str, data: Any) -> Dict[str, Any]:
        user = await self._authorised(sid, ANY_ROLE)
        if isinstance(user, dict):
            return user
        try:
            ref = parse(ConversationRef if action.subject == "conversation" else MessageRef, data)
        except BadRequest as exc:
            return failure(exc.code, exc.message)
        subject = ref.conversation_id if action.subject == "conversation" else ref.message_id
        return (await run_action(action, self.deps, user, subject, data)).body

    async def on_open(self, sid: str, data: Any = None) -> Dict[str, Any]:
        user = await self._authorised(sid, ANY_ROLE)
        if isinstance(user, dict):
            return user
        try:
            conversation_id = parse(ConversationRef, data).conversation_id
            if user.role in AGENT_ROLES:
                # Given to this agent (a transfer, auto-assignment): opening it is when the customer is told.
                await self.deps.actions.announce(conversation_id, user)
            summary = await self.conversations.summary(conversation_id)
        except BadRequest as exc:
            return failure(exc.code, exc.message)
        except NotFound as exc:
            return failure("not_found", str(exc))
        context = await self.context.for_conversation(conversation_id) if user.role in AGENT_ROLES else None
        return {"ok": True, "conversation": summary.as_json(),
                "messages": all_json(await self.conversations.messages(conversation_id)), "context": context}

    async def on_presence(self, sid: str, data: Any = None) -> Dict[str, Any]:
        user = await self._authorised(sid, ANY_ROLE)
        if isinstance(user, dict):
            return user
        try:
            status = parse(PresenceBody, data).status
        except BadRequest as exc:
            return failure(exc.code, exc.message)
        self.presence.set_status(user.id, status)
        await self.broadcast_presence()
        return {"ok": True}

    async def on_sync(self, sid: str, data: Any = None) -> Dict[str, Any]:
        user = await self._authorised(sid, ANY_ROLE)
        if isinstance(user, dict):
            return user
        try:
            after = parse(SyncBody, data).after_id
        except BadRequest as exc:
            return failure(exc.code, exc.message)
        messages = await self.conversations.messages_after(after)
        conversations = await self.conversations.list_conversations(OPEN_STATUSES, 200)
        return {"ok": True, "messages": all_json(messages), "conversations": all_json(conversations)}


def _event_handler(action: Action):
    async def handler(self: AgentNamespace, sid: str, data: Any = None) -> Dict[str, Any]:
        return await self._act(action, sid, data)

    handler.__name__ = f"on_{action.name}"
    return handler


for _action in ACTIONS:  # one `on_<event>` per action in the table
    setattr(AgentNamespace, f"on_{_action.name}", _event_handler(_action))
