"""What people do to a conversation: claim, reply, note, transfer, hand back, resolve, label.

The HTTP API and the agents' Socket.IO namespace both call these, so a rule holds
on every path: the state machine is applied atomically in the store, and each
action publishes its domain event for the listeners (console, channels, review).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from sqlalchemy import select

from bot.conversation import rasa_key
from bot.domain import ConversationStatus, SenderKind
from bot.engine import BotFailure, RasaEngine
from bot.events import DomainEvent, EventBus, EventName
from bot.state_machine import InvalidTransition, Transition
from bot.store.repository import ConversationStore, NotFound
from bot.store.tables import Conversation, User, utcnow

log = logging.getLogger(__name__)

MAX_AGENT_TEXT = 10_000


@dataclass
class ActionError(Exception):
    code: str
    message: str
    status: int = 409

    def __str__(self) -> str:
        return self.message


def _name(user: User) -> str:
    return user.display_name or user.username


class Takeover:
    def __init__(self, store: ConversationStore, engine: RasaEngine, bus: EventBus,
                 intents: Optional[List[str]] = None) -> None:
        self.store = store
        self.engine = engine
        self.bus = bus
        self.intents = intents

    async def claim(self, conversation_id: int, user: User) -> Dict[str, Any]:
        await self._transition(conversation_id, Transition.CLAIM, {"assignee_id": user.id},
                               conflict="already_claimed")
        return await self._joined(conversation_id, user, EventName.ASSIGNED, {"by": user.id})

    async def assign(self, conversation_id: int, user: User, by: Optional[User] = None) -> Dict[str, Any]:
        """Give a queued or assigned conversation to `user` (auto-assignment and transfers)."""
        transition = Transition.TRANSFER
        await self._transition(conversation_id, transition, {"assignee_id": user.id})
        return await self._joined(conversation_id, user, EventName.ASSIGNED,
                                  {"by": by.id if by else None, "transfer": by is not None})

    async def transfer(self, conversation_id: int, to_user: User, by: User) -> Dict[str, Any]:
        conversation = await self._get(conversation_id)
        if by.role != "admin" and conversation.assignee_id not in (None, by.id):
            raise ActionError("not_assignee", "only the assigned agent or an admin can transfer", 403)
        if to_user.role not in ("agent", "admin") or not to_user.active:
            raise ActionError("bad_target", f"{to_user.username} cannot take conversations", 422)
        return await self.assign(conversation_id, to_user, by)

    async def reply(self, conversation_id: int, user: User, text: str) -> Dict[str, Any]:
        text = self._clean(text)
        conversation = await self._get(conversation_id)
        if conversation.status == ConversationStatus.QUEUED.value:
            await self.claim(conversation_id, user)  # replying to a queued conversation takes it
        elif conversation.status != ConversationStatus.ASSIGNED.value:
            raise ActionError("not_taken_over",
                              f"the conversation is {conversation.status}; claim it before replying")
        elif conversation.assignee_id != user.id and user.role != "admin":
            raise ActionError("not_assignee", "another agent owns this conversation", 403)
        rows = await self.store.add_messages(conversation_id, [
            {"sender": SenderKind.AGENT.value, "text": text, "agent_id": user.id}])
        try:
            await self.engine.record_agent_message(rasa_key(conversation), text, _name(user))
        except BotFailure as exc:
            log.warning("bot will not see the agent's reply: %s", exc)
        message = await self._publish(EventName.AGENT_REPLIED, conversation_id, rows, deliver=True)
        return message[0]

    async def note(self, conversation_id: int, user: User, text: str) -> Dict[str, Any]:
        text = self._clean(text)
        await self._get(conversation_id)
        rows = await self.store.add_messages(conversation_id, [
            {"sender": SenderKind.NOTE.value, "text": text, "agent_id": user.id}])
        return (await self._publish(EventName.NOTE_ADDED, conversation_id, rows))[0]

    async def hand_back(self, conversation_id: int, user: User) -> Dict[str, Any]:
        await self._owned_or_admin(conversation_id, user)
        await self._transition(conversation_id, Transition.HAND_BACK,
                               {"assignee_id": None, "consecutive_misses": 0})
        try:
            await self.engine.resume(rasa_key(await self._get(conversation_id)))
        except BotFailure as exc:
            log.warning("bot could not resume conversation %s: %s", conversation_id, exc)
        rows = await self.store.add_messages(conversation_id, [{
            "sender": SenderKind.SYSTEM.value,
            "text": "You're chatting with our assistant again. Ask for a person any time."}])
        await self._publish(EventName.HANDED_BACK, conversation_id, rows, deliver=True,
                            data={"by": user.id})
        return await self.store.summary(conversation_id)

    async def resolve(self, conversation_id: int, user: User) -> Dict[str, Any]:
        await self._owned_or_admin(conversation_id, user)
        await self._transition(conversation_id, Transition.RESOLVE, {"resolved_at": utcnow()})
        try:
            await self.engine.resume(rasa_key(await self._get(conversation_id)))
        except BotFailure as exc:
            log.warning("bot could not resume conversation %s: %s", conversation_id, exc)
        await self._publish(EventName.RESOLVED, conversation_id, [], data={"by": user.id})
        return await self.store.summary(conversation_id)

    async def label(self, message_id: int, user: User, intent: Optional[str],
                    out_of_scope: bool = False) -> Dict[str, Any]:
        if not out_of_scope:
            if not intent:
                raise ActionError("bad_label", "give an intent or out_of_scope: true", 422)
            if self.intents is not None and intent not in self.intents:
                raise ActionError("unknown_intent", f"{intent!r} is not an intent of this bot", 422)
        label = {"intent": None if out_of_scope else intent, "out_of_scope": out_of_scope,
                 "by": user.username, "at": utcnow().isoformat()}
        try:
            message = await self.store.set_label(message_id, label)
        except NotFound:
            raise ActionError("not_found", f"no message {message_id}", 404)
        except ValueError as exc:
            raise ActionError("bad_label", str(exc), 422)
        summary = await self.store.summary(message["conversation_id"])
        await self.bus.publish(DomainEvent(EventName.MESSAGE_LABELLED, message["conversation_id"],
                                           summary, [message]))
        return message

    # ---- helpers -----------------------------------------------------------------

    async def _joined(self, conversation_id: int, user: User, event: EventName,
                      data: Dict[str, Any]) -> Dict[str, Any]:
        rows = await self.store.add_messages(conversation_id, [{
            "sender": SenderKind.SYSTEM.value, "text": f"{_name(user)} joined the conversation.",
            "agent_id": user.id}])
        await self._publish(event, conversation_id, rows, deliver=True, data=data)
        return await self.store.summary(conversation_id)

    async def _transition(self, conversation_id: int, transition: Transition, values: Dict[str, Any],
                          conflict: str = "invalid_transition") -> None:
        try:
            await self.store.transition(conversation_id, transition, values)
        except NotFound:
            raise ActionError("not_found", f"no conversation {conversation_id}", 404)
        except InvalidTransition as exc:
            if conflict == "already_claimed" and exc.current == ConversationStatus.ASSIGNED:
                raise ActionError("already_claimed", "another agent claimed this conversation first")
            raise ActionError(conflict, str(exc))

    async def _get(self, conversation_id: int) -> Conversation:
        try:
            return await self.store.get(conversation_id)
        except NotFound:
            raise ActionError("not_found", f"no conversation {conversation_id}", 404)

    async def _owned_or_admin(self, conversation_id: int, user: User) -> None:
        conversation = await self._get(conversation_id)
        if (conversation.status == ConversationStatus.ASSIGNED.value
                and conversation.assignee_id != user.id and user.role != "admin"):
            raise ActionError("not_assignee", "another agent owns this conversation", 403)

    def _clean(self, text: Any) -> str:
        if not isinstance(text, str) or not text.strip():
            raise ActionError("empty", "the message is empty", 422)
        if len(text) > MAX_AGENT_TEXT:
            raise ActionError("too_long", f"messages are limited to {MAX_AGENT_TEXT} characters", 413)
        return text.strip()

    async def _publish(self, name: EventName, conversation_id: int, rows, deliver: bool = False,
                       data: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
        serialised = await self.store.serialise_messages(rows)
        summary = await self.store.summary(conversation_id)
        await self.bus.publish(DomainEvent(name, conversation_id, summary, serialised,
                                           {**(data or {}), "deliver": deliver}))
        return serialised

    async def users_by_id(self, user_ids: List[int]) -> Dict[int, User]:
        async with self.store.sessions() as session:
            rows = (await session.execute(select(User).where(User.id.in_(user_ids)))).scalars().all()
        return {u.id: u for u in rows}
