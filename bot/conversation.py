"""The customer's turn: store, understand, decide, answer or hand off.

Every inbound message from every channel goes through `ConversationFlow.handle`.
The message is committed before anything else happens, so a crash later in the
turn loses nothing; any bot failure becomes a handoff with its reason; a turn that
a crash cut short is finished when the message is delivered again (or at start-up).
A turn writes twice: the customer's message first, everything else in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

from bot.domain import (
    AwaitedSlot, BotReply, ConversationStatus, HandoffDecision, InboundMessage, NluParse, SenderKind, Verdict,
)
from bot.engine import ActionFailed, BotFailure, BotUnavailable
from bot.events import DomainEvent, EventBus, EventName
from bot.handoff import FALLBACK_INTENT, HandoffPolicy
from bot.multi_request import request_parts
from bot.state_machine import human_owns
from bot.turn_locks import TurnLocks
from bot.store.conversations import (
    ConversationStore, DuplicateInbound, HandoffWrite, MessageDraft, StoredInbound,
)
from bot.views import ConversationRecord, MessageView

log = logging.getLogger(__name__)

REPHRASE_TEXT = "Sorry, I didn't quite get that. Could you say it another way?"
HANDOFF_TEXT = ("I'm bringing in a person from our team who can help. "
                "You are number {position} in the queue.")


@dataclass
class TurnResult:
    """What handling one inbound message produced, for the channel to answer with."""

    conversation_id: int
    customer_message_id: int
    replies: List[MessageView]      # bot/system messages to show the customer, in order
    duplicate: bool = False
    decision: Optional[HandoffDecision] = None
    status: ConversationStatus = ConversationStatus.BOT


@dataclass(frozen=True)
class Accepted:
    """A message committed for a turn that runs in the background."""

    conversation_id: int
    message_id: int
    duplicate: bool


class ConversationFlow:
    def __init__(self, conversations: ConversationStore, bot: Any, policy: HandoffPolicy, bus: EventBus,
                 model_wait_seconds: float = 60.0, review_margin: float = 0.1,
                 turn_locks: Optional[TurnLocks] = None) -> None:
        self.conversations = conversations
        self.bot = bot
        self.policy = policy
        self.bus = bus
        self.model_wait_seconds = model_wait_seconds
        self.review_margin = review_margin   # answers this close above the threshold go to the trainers' inbox
        # One turn at a time per customer: a second message waits for the first's answer.
        self.turns = turn_locks or TurnLocks()
        self._pending: set = set()   # turns running in the background (accept)
        # Set by the app to the waiting room's: what a handoff tells the customer (who is in, how long).
        self.handoff_notice: Optional[Callable[[], Awaitable[Any]]] = None

    async def handle(self, inbound: InboundMessage) -> TurnResult:
        async with self.turns.hold(inbound.channel, inbound.external_id):
            stored = await self.conversations.record_inbound(inbound)
            if isinstance(stored, DuplicateInbound):
                if stored.turn_finished:
                    return self._answered_before(stored)
                # The first delivery's turn never finished (a crash): finish it now.
                return await self._turn(stored.conversation, stored.message, inbound.metadata, live=True,
                                        duplicate=True)
            return await self._start(stored, inbound)

    async def accept(self, inbound: InboundMessage) -> "Accepted":
        """Commit the message and answer later, through delivery (providers with webhook deadlines).

        Twilio waits 15 s for a webhook's answer and Meta 20 s; a slow bot must not make them
        retry. The message is committed before this returns; the turn runs in the background
        and its replies go out through the outbox (nobody is waiting for them in the request).
        """
        async with self.turns.hold(inbound.channel, inbound.external_id):
            stored = await self.conversations.record_inbound(inbound)
        if isinstance(stored, DuplicateInbound):
            if not stored.turn_finished:
                self._background(self._finish_duplicate(inbound))
            return Accepted(stored.conversation.id, stored.message.id, duplicate=True)
        self._background(self._later(stored, inbound))
        return Accepted(stored.conversation.id, stored.message.id, duplicate=False)

    async def _later(self, stored: StoredInbound, inbound: InboundMessage) -> None:
        async with self.turns.hold(inbound.channel, inbound.external_id):
            self._opened(stored)
            if stored.reopened:
                await self._safely(self.bot.resume(stored.conversation.tracker_key))
            # The conversation may have moved since the message was stored (an agent claimed it).
            current = await self.conversations.get(stored.conversation.id)
            await self._turn(current, stored.message, inbound.metadata, live=False)

    async def _finish_duplicate(self, inbound: InboundMessage) -> None:
        async with self.turns.hold(inbound.channel, inbound.external_id):
            stored = await self.conversations.record_inbound(inbound)
            if isinstance(stored, DuplicateInbound) and not stored.turn_finished:
                await self._turn(stored.conversation, stored.message, inbound.metadata, live=False, duplicate=True)

    def _background(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._pending.add(task)
        task.add_done_callback(self._settled)

    def _settled(self, task: asyncio.Task) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a background turn failed", exc_info=task.exception())

    async def drain(self) -> None:
        """Wait for background turns (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def finish_interrupted(self, message_id: int) -> Optional[TurnResult]:
        """Finish a turn a crash cut short; its replies go out through delivery, nobody awaits them."""
        found = await self.conversations.customer_message(message_id)
        if found is None or not found.pending:
            return None
        async with self.turns.hold(found.channel, found.external_id):
            fresh = await self.conversations.customer_message(message_id)
            if fresh is None or not fresh.pending:
                return None  # a re-delivery finished it meanwhile
            return await self._turn(fresh.conversation, fresh.message, {}, live=False, duplicate=True)

    def _answered_before(self, duplicate: DuplicateInbound) -> TurnResult:
        visible = [r for r in duplicate.replies if r.sender in (SenderKind.BOT, SenderKind.SYSTEM)]
        return TurnResult(duplicate.conversation.id, duplicate.message.id, visible, duplicate=True,
                          status=duplicate.conversation.status)

    async def _start(self, stored: StoredInbound, inbound: InboundMessage) -> TurnResult:
        self._opened(stored)
        if stored.reopened:
            await self._safely(self.bot.resume(stored.conversation.tracker_key))
        return await self._turn(stored.conversation, stored.message, inbound.metadata, live=True)

    def _opened(self, stored: StoredInbound) -> None:
        """A new conversation, or a resolved one the customer came back to (reports count both)."""
        channel = {"channel": stored.conversation.channel}
        if stored.created:
            self.bus.publish(DomainEvent(EventName.CONVERSATION_OPENED, stored.conversation.id, data=channel))
        elif stored.reopened:
            self.bus.publish(DomainEvent(EventName.CONVERSATION_REOPENED, stored.conversation.id, data=channel))

    async def _turn(self, conversation: ConversationRecord, message: MessageView, metadata: Dict[str, Any],
                    live: bool, duplicate: bool = False) -> TurnResult:
        key = conversation.tracker_key
        parse, failure = await self._parse(message.text)
        nlu = parse.as_annotation() if parse is not None else None
        message = replace(message, nlu=nlu)
        if not duplicate:
            self.bus.publish(DomainEvent(EventName.MESSAGE_RECEIVED, conversation.id, (message,),
                                         data={"status": conversation.status.value}))

        if human_owns(conversation.status):
            # A person owns it: the bot stays silent but keeps the context.
            await self.conversations.finish_turn(conversation, message.id, nlu)
            if parse is not None:
                await self._safely(self.bot.record_customer_message(key, parse, metadata))
            return TurnResult(conversation.id, message.id, [], duplicate=duplicate, status=conversation.status)

        logged = False   # whether the bot's tracker already has this message
        if failure is not None:
            decision = self.policy.on_failure(failure)
        else:
            awaiting = await self._awaiting(key, parse)
            answers = awaiting is not None and awaiting.answered_by(parse)
            parts = [] if answers else await self._parts(parse)
            decision = self.policy.decide(parse, conversation.consecutive_misses, awaiting=awaiting, parts=parts)
        replies: List[BotReply] = []
        if not decision.hands_off:
            try:
                force = FALLBACK_INTENT if decision.verdict is Verdict.REPHRASE else None
                replies = [r for r in await self.bot.respond(key, parse, metadata, force_intent=force)
                           if not r.is_empty()]
            except BotFailure as exc:
                log.warning("conversation %s: bot failed: %s", conversation.id, exc)
                decision = self.policy.on_failure(exc)
                logged = isinstance(exc, ActionFailed)
            else:
                if decision.verdict is Verdict.ANSWER and not replies:
                    decision = self.policy.after_empty_reply(conversation.consecutive_misses)
                if decision.verdict is Verdict.REPHRASE and not replies:
                    replies = [BotReply(text=REPHRASE_TEXT)]
        if decision.hands_off:
            return await self._hand_off(conversation, message, decision, None if logged else parse, metadata, live,
                                        duplicate)

        misses = conversation.consecutive_misses + 1 if decision.verdict is Verdict.REPHRASE else 0
        review = self._review_reason(decision, parse)
        outcome = await self.conversations.finish_turn(conversation, message.id, nlu, [
            MessageDraft(SenderKind.BOT, r.text, r.payload(), in_reply_to_id=message.id) for r in replies],
            misses=misses, review_reason=review)
        self.bus.publish(DomainEvent(EventName.BOT_REPLIED, conversation.id, tuple(outcome.messages),
                                     data={"verdict": decision.verdict.value, "live": live}))
        self._queue_for_review(conversation.id, message, review)
        return TurnResult(conversation.id, message.id, outcome.messages, duplicate=duplicate, decision=decision,
                          status=outcome.conversation.status)

    def _review_reason(self, decision: HandoffDecision, parse: Optional[NluParse]) -> Optional[str]:
        """Why trainers should look at this message, if they should."""
        if decision.answers_slot:
            return None   # "12345" answering the bot's question: nothing for the intent model to learn
        if decision.verdict is Verdict.REPHRASE:
            return "rephrase"
        if decision.hands_off:
            return decision.reason.value if decision.reason else "handoff"
        if parse is not None and parse.intent:
            if parse.confidence < self.policy.config.threshold_for(parse.intent) + self.review_margin:
                return "uncertain_answer"
        return None

    def _queue_for_review(self, conversation_id: int, message: MessageView, reason: Optional[str]) -> None:
        if reason:
            self.bus.publish(DomainEvent(EventName.REVIEW_QUEUED, conversation_id, (message,),
                                         data={"reason": reason}))

    async def _awaiting(self, key: str, parse: NluParse) -> Optional[AwaitedSlot]:
        """The slot the bot asked for, when the message carries an entity that could answer it."""
        if not parse.entities:
            return None   # nothing in it could fill a slot: no need to ask the bot's tracker
        try:
            return await self.bot.awaiting(key)
        except BotFailure as exc:
            log.warning("could not tell what the bot asked for: %s", exc)
            return None

    async def _parts(self, parse: NluParse) -> List[NluParse]:
        """Each part of a message that may carry several requests, parsed on its own ([] for one part)."""
        texts = request_parts(parse.text)
        if not texts:
            return []
        parsed = await asyncio.gather(*(self.bot.parse(t) for t in texts), return_exceptions=True)
        if any(isinstance(p, BaseException) for p in parsed):
            log.warning("parsing the parts of a message failed; it is decided on as one request")
            return []
        return list(parsed)

    async def _parse(self, text: str) -> Tuple[Optional[NluParse], Optional[BotFailure]]:
        if self.bot.status == "loading":
            # Starting up: hold the customer's message (bounded) rather than hand it off at once.
            await self.bot.wait_ready(self.model_wait_seconds)
        try:
            return await self.bot.parse(text), None
        except BotFailure as exc:
            log.warning("parse failed: %s", exc)
            return None, exc

    async def _hand_off(self, conversation: ConversationRecord, message: MessageView, decision: HandoffDecision,
                        parse: Optional[NluParse], metadata: Dict[str, Any], live: bool,
                        duplicate: bool) -> TurnResult:
        reason = decision.reason.value if decision.reason else None
        notice, offers_message = HANDOFF_TEXT, False
        if self.handoff_notice is not None:
            try:
                told = await self.handoff_notice()
                notice, offers_message = told.text, told.offers_message
            except Exception:
                log.exception("the waiting room could not word the handoff; using the plain notice")
        outcome = await self.conversations.finish_turn(
            conversation, message.id, message.nlu,
            handoff=HandoffWrite(reason, decision.detail, decision.priority, notice, offers_message),
            review_reason=reason)
        self._queue_for_review(conversation.id, message, reason)
        if not outcome.handed_off:
            # Someone (an agent) moved it meanwhile; it is already in human hands.
            return TurnResult(conversation.id, message.id, [], duplicate=duplicate, decision=decision,
                              status=outcome.conversation.status)
        key = conversation.tracker_key
        if parse is not None:
            await self._safely(self.bot.record_customer_message(key, parse, metadata, pause=True))
        else:
            await self._safely(self.bot.pause(key))
        self.bus.publish(DomainEvent(EventName.HANDED_OFF, conversation.id, tuple(outcome.messages),
                                     data={"reason": reason, "queue_position": outcome.queue_position,
                                           "live": live, "channel": conversation.channel}))
        return TurnResult(conversation.id, message.id, outcome.messages, duplicate=duplicate, decision=decision,
                          status=ConversationStatus.QUEUED)

    async def _safely(self, call) -> None:
        """Bot bookkeeping (pause, context) must never cost the customer their turn."""
        try:
            await call
        except BotFailure as exc:
            log.warning("bot bookkeeping skipped: %s", exc)
        except Exception:
            log.exception("bot bookkeeping failed")


__all__ = ["ConversationFlow", "TurnResult", "REPHRASE_TEXT", "HANDOFF_TEXT", "BotUnavailable"]
