"""The customer's turn: store, understand, decide, answer or hand off.

Every inbound message from every channel goes through `ConversationFlow.handle`.
The message is committed before anything else happens, so a crash later in the
turn loses nothing; any bot failure becomes a handoff with its reason.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any, Dict, List, Optional

from bot.domain import (
    BotReply, ConversationStatus, HandoffDecision, InboundMessage, NluParse, SenderKind,
    TurnResult, Verdict,
)
from bot.engine import BotFailure, RasaEngine
from bot.events import DomainEvent, EventBus, EventName
from bot.handoff import FALLBACK_INTENT, HandoffPolicy
from bot.state_machine import InvalidTransition, Transition, human_owns
from bot.store.repository import ConversationStore, DuplicateInbound, StoredInbound
from bot.store.tables import utcnow

log = logging.getLogger(__name__)

REPHRASE_TEXT = "Sorry, I didn't quite get that. Could you say it another way?"
HANDOFF_TEXT = ("I'm bringing in a person from our team who can help. "
                "You are number {position} in the queue.")


def rasa_key(conversation) -> str:
    """The sender id the bot's tracker knows a conversation by (its uid, unique across databases)."""
    return f"conversation-{conversation.uid}"


class ConversationFlow:
    def __init__(self, store: ConversationStore, engine: RasaEngine, policy: HandoffPolicy,
                 bus: EventBus) -> None:
        self.store = store
        self.engine = engine
        self.policy = policy
        self.bus = bus
        # One turn at a time per customer: a second message waits for the first's answer.
        self._locks: "weakref.WeakValueDictionary[tuple, asyncio.Lock]" = weakref.WeakValueDictionary()

    def _lock(self, inbound: InboundMessage) -> asyncio.Lock:
        key = (inbound.channel, inbound.external_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    async def handle(self, inbound: InboundMessage) -> TurnResult:
        async with self._lock(inbound):
            stored = await self.store.record_inbound(inbound)
            if isinstance(stored, DuplicateInbound):
                return await self._duplicate(stored)
            return await self._turn(inbound, stored)

    async def _duplicate(self, duplicate: DuplicateInbound) -> TurnResult:
        conversation = await self.store.get(duplicate.conversation_id)
        visible = [r for r in duplicate.replies if r.sender in (SenderKind.BOT.value, SenderKind.SYSTEM.value)]
        return TurnResult(conversation.id, duplicate.message.id,
                          await self.store.serialise_messages(visible), duplicate=True,
                          status=ConversationStatus(conversation.status))

    async def _turn(self, inbound: InboundMessage, stored: StoredInbound) -> TurnResult:
        conversation, message = stored.conversation, stored.message
        key = rasa_key(conversation)
        status = ConversationStatus(conversation.status)
        if stored.reopened:
            await self._safely(self.engine.resume(key))

        parse: Optional[NluParse] = None
        failure: Optional[BotFailure] = None
        try:
            parse = await self.engine.parse(inbound.text)
            await self.store.annotate(message.id, parse.as_annotation())
        except BotFailure as exc:
            failure = exc
            log.warning("conversation %s: parse failed: %s", conversation.id, exc)
        await self._publish(EventName.REOPENED if stored.reopened else EventName.MESSAGE_RECEIVED,
                            conversation.id, [message])

        if human_owns(status):
            # A person owns it: the bot stays silent but keeps the context.
            if parse is not None:
                await self._safely(self.engine.record_customer_message(key, parse, inbound.metadata))
            return TurnResult(conversation.id, message.id, [], status=status)

        if failure is not None:
            return await self._hand_off(conversation, message.id, self.policy.on_failure(failure), None,
                                        inbound)
        assert parse is not None
        decision = self.policy.decide(parse, conversation.consecutive_misses)
        if decision.hands_off:
            return await self._hand_off(conversation, message.id, decision, parse, inbound)

        try:
            force = FALLBACK_INTENT if decision.verdict is Verdict.REPHRASE else None
            replies = await self.engine.respond(key, parse, inbound.metadata, force_intent=force)
        except BotFailure as exc:
            log.warning("conversation %s: bot failed: %s", conversation.id, exc)
            return await self._hand_off(conversation, message.id, self.policy.on_failure(exc), None, inbound)

        replies = [r for r in replies if not r.is_empty()]
        if decision.verdict is Verdict.ANSWER and not replies:
            decision = self.policy.after_empty_reply(conversation.consecutive_misses)
            if decision.hands_off:
                return await self._hand_off(conversation, message.id, decision, None, inbound)
        if decision.verdict is Verdict.REPHRASE and not replies:
            replies = [BotReply(text=REPHRASE_TEXT)]

        misses = conversation.consecutive_misses + 1 if decision.verdict is Verdict.REPHRASE else 0
        if misses != conversation.consecutive_misses:
            await self.store.set_misses(conversation.id, misses)
        rows = await self.store.add_messages(conversation.id, [
            {"sender": SenderKind.BOT.value, "text": r.text, "payload": r.payload(),
             "in_reply_to_id": message.id} for r in replies])
        serialised = await self._publish(EventName.BOT_REPLIED, conversation.id, rows,
                                         data={"verdict": decision.verdict.value})
        return TurnResult(conversation.id, message.id, serialised, decision=decision,
                          status=ConversationStatus.BOT)

    async def _hand_off(self, conversation, message_id: int, decision: HandoffDecision,
                        parse: Optional[NluParse], inbound: InboundMessage) -> TurnResult:
        key = rasa_key(conversation)
        conversation_id = conversation.id
        try:
            await self.store.transition(conversation_id, Transition.HANDOFF, {
                "handoff_reason": decision.reason.value if decision.reason else None,
                "handoff_detail": decision.detail,
                "handoff_message_id": message_id,
                "priority": decision.priority,
                "queued_at": utcnow(),
                "consecutive_misses": 0,
            })
        except InvalidTransition:
            # Someone (an agent) moved it meanwhile; it is already in human hands.
            conversation = await self.store.get(conversation_id)
            return TurnResult(conversation_id, message_id, [], decision=decision,
                              status=ConversationStatus(conversation.status))
        if parse is not None:
            await self._safely(self.engine.record_customer_message(key, parse, inbound.metadata))
        await self._safely(self.engine.pause(key))
        position = await self.store.queue_position(conversation_id)
        rows = await self.store.add_messages(conversation_id, [{
            "sender": SenderKind.SYSTEM.value, "text": HANDOFF_TEXT.format(position=position),
            "payload": {"queue_position": position}, "in_reply_to_id": message_id}])
        serialised = await self._publish(EventName.HANDED_OFF, conversation_id, rows,
                                         data={"reason": decision.reason.value if decision.reason else None,
                                               "queue_position": position})
        return TurnResult(conversation_id, message_id, serialised, decision=decision,
                          status=ConversationStatus.QUEUED)

    async def _publish(self, name: EventName, conversation_id: int, rows, data: Optional[Dict[str, Any]] = None,
                       ) -> List[Dict[str, Any]]:
        serialised = await self.store.serialise_messages(rows)
        summary = await self.store.summary(conversation_id)
        await self.bus.publish(DomainEvent(name, conversation_id, summary, serialised, data or {}))
        return serialised

    async def _safely(self, call) -> None:
        """Bot bookkeeping (pause, context) must never cost the customer their turn."""
        try:
            await call
        except BotFailure as exc:
            log.warning("bot bookkeeping skipped: %s", exc)
