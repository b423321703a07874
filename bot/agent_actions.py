"""What people do to a conversation: claim, reply, note, transfer, hand back, resolve, show typing.

The console's HTTP API and its Socket.IO namespace are both built from one action table
(`agent_console/actions.py`) that calls these, so a rule holds on every path: the state
machine is applied atomically in the store, and each action publishes its domain event as a
fact for the listeners (console, outbound delivery, review) to act on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Optional

from bot.domain import AGENT_ROLES, ConversationStatus, HandoffReason, Role, SenderKind
from bot.engine import BotFailure
from bot.events import DomainEvent, EventBus, EventName
from bot.ratings import RatingQuestion
from bot.state_machine import InvalidTransition, Transition
from bot.store.accounts import AccountStore
from bot.store.conversations import ConversationStore, MessageDraft, NotFound
from bot.text_rules import text_problem
from bot.views import ConversationRecord, ConversationView, MessageView, UserView

log = logging.getLogger(__name__)

MAX_AGENT_TEXT = 10_000
HANDED_BACK_TEXT = "You're chatting with our assistant again. Ask for a person any time."


@dataclass
class ActionError(Exception):
    """An action a person tried that cannot happen; `status` is the HTTP status it maps to."""

    code: str
    message: str
    status: int = 409

    def __str__(self) -> str:
        return self.message


# Why an agent's reply cannot reach the customer now (e.g. WhatsApp's 24-hour window closed), or None.
# The composition root passes one in that asks the conversation's channel; the core knows no channel.
ReplyGuard = Callable[[ConversationRecord], Awaitable[Optional[str]]]


class AgentActions:
    def __init__(self, conversations: ConversationStore, accounts: AccountStore, bot: Any, bus: EventBus,
                 reply_guard: Optional[ReplyGuard] = None,
                 rating_channels: Callable[[str], bool] = lambda channel: False) -> None:
        self.conversations = conversations
        self.accounts = accounts
        self.bot = bot
        self.bus = bus
        self.reply_guard = reply_guard
        self.rating_channels = rating_channels   # channel name → can show the rating question
        self.rating_question = RatingQuestion()

    async def claim(self, conversation_id: int, actor: UserView) -> ConversationView:
        self._may_take(actor)
        _, notices = await self._transition(conversation_id, Transition.CLAIM,
                                            {"assignee_id": actor.id, "announced_assignee_id": actor.id},
                                            self._joined(actor), conflict="already_claimed")
        self.bus.publish(DomainEvent(EventName.ASSIGNED, conversation_id, tuple(notices), actor_id=actor.id,
                                     data={"assignee_id": actor.id, "transfer": False}))
        return await self.conversations.summary(conversation_id)

    async def take_over(self, conversation_id: int, actor: UserView) -> ConversationView:
        """Step into a conversation the bot is still handling: the bot goes silent at once.

        One transition (bot → assigned) through the state machine: a bot turn that is running now
        finds the conversation taken when it stores its replies, and drops them (the store checks
        the status in the same transaction). The reason is recorded as `agent_takeover`.
        """
        self._may_take(actor)
        conversation, notices = await self._transition(
            conversation_id, Transition.TAKE_OVER,
            {"assignee_id": actor.id, "announced_assignee_id": actor.id,
             "handoff_reason": HandoffReason.AGENT_TAKEOVER.value,
             "handoff_detail": f"{actor.name} took over from the bot", "handoff_message_id": None,
             "priority": 0, "queued_at": None, "consecutive_misses": 0},
            self._joined(actor), conflict="not_with_bot")
        try:
            await self.bot.pause(conversation.tracker_key)
        except BotFailure as exc:
            log.warning("bot could not pause conversation %s: %s", conversation_id, exc)
        self.bus.publish(DomainEvent(EventName.ASSIGNED, conversation_id, tuple(notices), actor_id=actor.id,
                                     data={"assignee_id": actor.id, "transfer": False, "takeover": True,
                                           "channel": conversation.channel}))
        return await self.conversations.summary(conversation_id)

    async def assign(self, conversation_id: int, agent: UserView, by: Optional[UserView] = None) -> ConversationView:
        """Give a queued or assigned conversation to `agent` (auto-assignment and transfers).

        The customer is not told yet: the agent may be away. They hear "transferred to …" (or
        "… joined") when that agent opens the conversation or writes (`announce`).
        """
        self._may_take(agent)
        await self._transition(conversation_id, Transition.TRANSFER, {"assignee_id": agent.id})
        self.bus.publish(DomainEvent(EventName.ASSIGNED, conversation_id, actor_id=by.id if by else None,
                                     data={"assignee_id": agent.id, "transfer": by is not None}))
        return await self.conversations.summary(conversation_id)

    async def announce(self, conversation_id: int, actor: UserView) -> Optional[MessageView]:
        """The assignee opened (or answers) a conversation given to them: now the customer is told.

        Once per assignee (a compare-and-set in the store), whoever opens it how often.
        """
        try:
            notice = await self.conversations.announce_assignee(
                conversation_id, actor.id, MessageDraft(SenderKind.SYSTEM, f"You've been transferred to {actor.name}.",
                                                        agent_id=actor.id), self._joined(actor))
        except NotFound:
            return None
        if notice is not None:
            self.bus.publish(DomainEvent(EventName.AGENT_JOINED, conversation_id, (notice,), actor_id=actor.id,
                                         data={"assignee_id": actor.id}))
        return notice

    async def transfer(self, conversation_id: int, to_agent_id: int, actor: UserView) -> ConversationView:
        conversation = await self._get(conversation_id)
        if actor.role is not Role.ADMIN and conversation.assignee_id not in (None, actor.id):
            raise ActionError("not_assignee", "only the assigned agent or an admin can transfer", 403)
        target = await self.accounts.by_id(to_agent_id)
        if target is None:
            raise ActionError("not_found", f"no agent {to_agent_id}", 404)
        if target.role not in AGENT_ROLES or not target.active:
            raise ActionError("bad_target", f"{target.username} cannot take conversations", 422)
        return await self.assign(conversation_id, target, actor)

    async def reply(self, conversation_id: int, actor: UserView, text: Any) -> MessageView:
        text = self._clean(text)
        conversation = await self._get(conversation_id)
        if self.reply_guard is not None and conversation.status is not ConversationStatus.RESOLVED:
            # Refused before anything is stored or claimed: the agent learns why at once.
            refusal = await self.reply_guard(conversation)
            if refusal:
                raise ActionError("channel_refused", refusal, 409)
        if conversation.status is ConversationStatus.QUEUED:
            await self.claim(conversation_id, actor)  # replying to a queued conversation takes it
        elif conversation.status is not ConversationStatus.ASSIGNED:
            raise ActionError("not_taken_over",
                              f"the conversation is {conversation.status.value}; claim it before replying")
        elif conversation.assignee_id != actor.id and actor.role is not Role.ADMIN:
            raise ActionError("not_assignee", "another agent owns this conversation", 403)
        else:
            await self.announce(conversation_id, actor)   # given to them and answered before opened
        [message] = await self.conversations.add_messages(conversation_id, [
            MessageDraft(SenderKind.AGENT, text, agent_id=actor.id)])
        try:
            await self.bot.record_agent_message(conversation.tracker_key, text, actor.name)
        except BotFailure as exc:
            log.warning("bot will not see the agent's reply: %s", exc)
        self.bus.publish(DomainEvent(EventName.AGENT_REPLIED, conversation_id, (message,), actor_id=actor.id))
        return message

    async def note(self, conversation_id: int, actor: UserView, text: Any) -> MessageView:
        text = self._clean(text)
        await self._get(conversation_id)
        [message] = await self.conversations.add_messages(conversation_id, [
            MessageDraft(SenderKind.NOTE, text, agent_id=actor.id)])
        self.bus.publish(DomainEvent(EventName.NOTE_ADDED, conversation_id, (message,), actor_id=actor.id))
        return message

    async def hand_back(self, conversation_id: int, actor: UserView) -> ConversationView:
        await self._owned_or_admin(conversation_id, actor)
        conversation, notices = await self._transition(
            conversation_id, Transition.HAND_BACK, {"assignee_id": None, "announced_assignee_id": None,
                                                    "consecutive_misses": 0},
            MessageDraft(SenderKind.SYSTEM, HANDED_BACK_TEXT))
        await self._resume_bot(conversation)
        self.bus.publish(DomainEvent(EventName.HANDED_BACK, conversation_id, tuple(notices), actor_id=actor.id))
        return await self.conversations.summary(conversation_id)

    async def resolve(self, conversation_id: int, actor: UserView, closing_message: Any = None,
                      ask_rating: bool = False) -> ConversationView:
        """Close the conversation, optionally with a last word to the customer and the rating question.

        The closing message is an ordinary reply (stored, delivered); the question is asked only on
        channels that can show it (the web widget), about the agent who had the conversation.
        """
        current = await self._owned_or_admin(conversation_id, actor)
        text = self._clean(closing_message) if closing_message not in (None, "") else None
        if text and self.reply_guard is not None and current.status is not ConversationStatus.RESOLVED:
            refusal = await self.reply_guard(current)
            if refusal:
                raise ActionError("channel_refused", refusal, 409)
        question = None
        if ask_rating and self.rating_channels(current.channel):
            question = self.rating_question.draft(current.assignee_id or actor.id)
        conversation, notices = await self._transition(conversation_id, Transition.RESOLVE,
                                                       {"resolved_at": datetime.now(timezone.utc)},
                                                       self._closing(actor, text))
        await self._resume_bot(conversation)
        if text:
            try:
                await self.bot.record_agent_message(conversation.tracker_key, text, actor.name)
            except BotFailure as exc:
                log.warning("bot will not see the closing message: %s", exc)
            self.bus.publish(DomainEvent(EventName.AGENT_REPLIED, conversation_id, tuple(notices),
                                         actor_id=actor.id))
        asked = await self.conversations.add_messages(conversation_id, [question]) if question else []
        self.bus.publish(DomainEvent(EventName.RESOLVED, conversation_id, tuple(asked), actor_id=actor.id,
                                     data={"assignee_id": current.assignee_id, "closing_message": bool(text),
                                           "rating_asked": bool(asked), "channel": current.channel}))
        return await self.conversations.summary(conversation_id)

    @staticmethod
    def _closing(actor: UserView, text: Optional[str]) -> Optional[MessageDraft]:
        # Stored with the transition: the resolve and its last word succeed or fail together.
        return MessageDraft(SenderKind.AGENT, text, agent_id=actor.id) if text else None

    async def typing(self, conversation_id: int, actor: UserView, typing: bool) -> None:
        await self._get(conversation_id)
        self.bus.publish(DomainEvent(EventName.TYPING, conversation_id, actor_id=actor.id,
                                     data={"who": "agent", "typing": bool(typing)}))

    # ---- helpers -----------------------------------------------------------------

    @staticmethod
    def _may_take(user: UserView) -> None:
        if user.role not in AGENT_ROLES or not user.active:
            raise ActionError("forbidden", f"a {user.role.value} cannot take conversations", 403)

    @staticmethod
    def _joined(user: UserView) -> MessageDraft:
        return MessageDraft(SenderKind.SYSTEM, f"{user.name} joined the conversation.", agent_id=user.id)

    async def _resume_bot(self, conversation: ConversationRecord) -> None:
        try:
            await self.bot.resume(conversation.tracker_key)
        except BotFailure as exc:
            log.warning("bot could not resume conversation %s: %s", conversation.id, exc)

    async def _transition(self, conversation_id: int, transition: Transition, values, notice=None,
                          conflict: str = "invalid_transition"):
        try:
            return await self.conversations.transition(conversation_id, transition, values, notice)
        except NotFound:
            raise ActionError("not_found", f"no conversation {conversation_id}", 404)
        except InvalidTransition as exc:
            if conflict == "already_claimed" and exc.current is ConversationStatus.ASSIGNED:
                raise ActionError("already_claimed", "another agent claimed this conversation first")
            raise ActionError(conflict, str(exc))

    async def _get(self, conversation_id: int) -> ConversationRecord:
        try:
            return await self.conversations.get(conversation_id)
        except NotFound:
            raise ActionError("not_found", f"no conversation {conversation_id}", 404)

    async def _owned_or_admin(self, conversation_id: int, actor: UserView) -> ConversationRecord:
        conversation = await self._get(conversation_id)
        if (conversation.status is ConversationStatus.ASSIGNED
                and conversation.assignee_id != actor.id and actor.role is not Role.ADMIN):
            raise ActionError("not_assignee", "another agent owns this conversation", 403)
        return conversation

    @staticmethod
    def _clean(text: Any) -> str:
        if not isinstance(text, str) or not text.strip():
            raise ActionError("empty", "the message is empty", 422)
        problem = text_problem(text)
        if problem:
            raise ActionError("bad_text", problem, 422)
        if len(text) > MAX_AGENT_TEXT:
            raise ActionError("too_long", f"messages are limited to {MAX_AGENT_TEXT} characters", 413)
        return text.strip()
