"""The waiting room: what a customer waiting for a person is told, and when.

The bot hands a conversation to the queue (bot/conversation.py); from then on the customer is
never left in silence: the handoff notice says honestly whether anyone is in (business hours,
agents online) and offers to leave a message when nobody is; their place and a range estimate
are kept current; a place that gets worse (a higher-priority handoff) is always told; further
messages are acknowledged; a long wait ends in the same offer. Channels that can show a live
status (the web widget) get every change as a `wait_updated` event; other channels get a stored
notice at most every `notice_interval_seconds`, except the ones that must always be said.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

from bot.domain import ConversationStatus, SenderKind
from bot.events import DomainEvent, EventBus, EventName
from bot.store.conversations import ConversationStore, MessageDraft
from bot.store.reporting import ReportingStore
from bot.store.waiting import WaitingStore, WaitRow
from bot.views import MessageView
from bot.waiting.estimate import WaitRange, estimate
from bot.waiting.hours import BusinessHours
from bot.waiting.texts import WaitTexts

log = logging.getLogger(__name__)

EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}")
SAMPLES_TTL = 10.0   # seconds the recent claim times are reused between estimates


def find_email(text: str) -> Optional[str]:
    match = EMAIL.search(text or "")
    return match.group(0) if match else None


@dataclass(frozen=True)
class WaitConfig:
    hours: BusinessHours = field(default_factory=BusinessHours)
    max_wait_seconds: float = 600.0           # then the customer is offered to leave a message
    notice_interval_seconds: float = 180.0    # at most one "still waiting" notice this often (non-live channels)
    estimate_samples: int = 20                # the latest claims an estimate is made from…
    estimate_window_hours: float = 24.0       # …within this window
    texts: WaitTexts = field(default_factory=WaitTexts)

    @classmethod
    def from_settings(cls, settings: Any) -> "WaitConfig":
        return cls(hours=BusinessHours.parse(settings.business_hours, settings.business_timezone),
                   max_wait_seconds=settings.max_wait_seconds,
                   notice_interval_seconds=settings.wait_notice_interval_seconds,
                   estimate_samples=settings.wait_estimate_samples,
                   estimate_window_hours=settings.wait_estimate_window_hours)


@dataclass(frozen=True)
class Availability:
    open: bool                # within business hours
    agents_online: int        # people who take conversations, online now
    next_opening: str = ""    # "tomorrow at 09:00 (Europe/Berlin)" when closed

    @property
    def staffed(self) -> bool:
        return self.open and self.agents_online > 0


@dataclass(frozen=True)
class WaitStatus:
    """What the widget shows: the state of the wait, in words and in fields."""

    conversation_id: int
    state: str                          # bot | waiting | assigned | resolved
    position: Optional[int] = None
    estimate: Optional[WaitRange] = None
    open: bool = True
    agents_online: int = 0
    offer_message: bool = False         # show the leave-a-message form
    left_message: bool = False
    headline: str = ""
    detail: str = ""
    agent_name: Optional[str] = None

    def as_json(self) -> Dict[str, Any]:
        return {"conversation_id": self.conversation_id, "state": self.state, "position": self.position,
                "estimate": self.estimate.as_json() if self.estimate else None, "open": self.open,
                "agents_online": self.agents_online, "offer_message": self.offer_message,
                "left_message": self.left_message, "headline": self.headline, "detail": self.detail,
                "agent_name": self.agent_name}


@dataclass(frozen=True)
class HandoffNotice:
    """The handoff's text as a function of the customer's place, and whether it offered a message."""

    text: Callable[[int], str]
    offers_message: bool


class WaitingRoom:
    def __init__(self, waiting: WaitingStore, reporting: ReportingStore, conversations: ConversationStore,
                 bus: EventBus, agents_online: Callable[[], Awaitable[int]],
                 live_status: Callable[[str], bool], config: Optional[WaitConfig] = None) -> None:
        self.waiting = waiting
        self.reporting = reporting
        self.conversations = conversations
        self.bus = bus
        self.agents_online = agents_online      # people who take conversations, online (presence)
        self.live_status = live_status          # channel name → shows a live waiting status
        self.config = config or WaitConfig()
        self._samples: Tuple[float, List[Tuple[float, Optional[float]]]] = (0.0, [])
        self._shown: Dict[int, Dict[str, Any]] = {}   # the last status each live customer was sent

    # ---- facts --------------------------------------------------------------------------

    async def availability(self, now: Optional[datetime] = None) -> Availability:
        hours = self.config.hours
        is_open = hours.is_open(now)
        try:
            online = await self.agents_online()
        except Exception:
            log.exception("could not count agents online; telling customers nobody is")
            online = 0
        return Availability(is_open, online, "" if is_open else hours.describe_next_opening(now))

    async def _recent_waits(self) -> List[Tuple[float, Optional[float]]]:
        fetched_at, samples = self._samples
        if time.monotonic() - fetched_at > SAMPLES_TTL:
            since = datetime.now(timezone.utc) - timedelta(hours=self.config.estimate_window_hours)
            samples = await self.reporting.recent_waits(since, self.config.estimate_samples)
            self._samples = (time.monotonic(), samples)
        return samples

    def forget_samples(self) -> None:
        self._samples = (0.0, [])

    async def estimate_for(self, position: int, availability: Availability) -> Optional[WaitRange]:
        # Nobody in: any number would be a promise nobody can keep.
        if not availability.staffed:
            return None
        return estimate(position, await self._recent_waits())

    # ---- the handoff -------------------------------------------------------------------

    async def handoff_notice(self) -> HandoffNotice:
        """What the handoff says, decided before the turn's transaction (it needs only the place then)."""
        availability = await self.availability()
        texts = self.config.texts
        if not availability.open:
            opening = texts.opening_clause(availability.next_opening)
            return HandoffNotice(lambda p: texts.fill(texts.handoff_closed, p, next_opening=opening), True)
        if availability.agents_online == 0:
            return HandoffNotice(lambda p: texts.fill(texts.handoff_nobody_online, p), True)
        samples = await self._recent_waits()

        def text(position: int) -> str:
            return texts.fill(texts.handoff, position, estimate=texts.estimate_clause(estimate(position, samples)))

        return HandoffNotice(text, False)

    # ---- status ---------------------------------------------------------------------------

    async def status(self, conversation_id: int, availability: Optional[Availability] = None,
                     row: Optional[WaitRow] = None) -> Optional[WaitStatus]:
        row = row or await self.waiting.get(conversation_id)
        if row is None:
            return None
        texts = self.config.texts
        if row.status is ConversationStatus.ASSIGNED:
            if row.agent_name is None:   # given to someone who has not opened it yet
                return WaitStatus(conversation_id, "assigned", headline=texts.connecting_headline)
            return WaitStatus(conversation_id, "assigned", agent_name=row.agent_name,
                              headline=texts.fill(texts.assigned_headline, agent=row.agent_name))
        if row.status is not ConversationStatus.QUEUED:
            return WaitStatus(conversation_id, row.status.value)
        availability = availability or await self.availability()
        position = row.position or await self.conversations.queue_position(conversation_id)
        wait = await self.estimate_for(position, availability)
        offer = (not availability.staffed or row.message_offered_at is not None) and row.left_message_at is None
        if row.left_message_at is not None:
            detail = texts.fill(texts.message_left, email=row.contact_email or "")
        elif not availability.open:
            detail = texts.fill(texts.handoff_closed, position,
                                next_opening=texts.opening_clause(availability.next_opening))
        elif availability.agents_online == 0:
            detail = texts.fill(texts.handoff_nobody_online, position)
        else:
            detail = texts.fill(texts.waiting_detail, position, estimate=texts.estimate_clause(wait))
        return WaitStatus(conversation_id, "waiting", position, wait, availability.open, availability.agents_online,
                          offer, row.left_message_at is not None,
                          texts.waiting_headline if availability.staffed else texts.unavailable_headline, detail)

    def _publish_status(self, status: WaitStatus, force: bool = False, **extra: Any) -> None:
        """A live customer gets the status when it changed (or always, as an acknowledgement)."""
        data = {**status.as_json(), **extra}
        if not force and self._shown.get(status.conversation_id) == data:
            return
        if status.state == "waiting":
            self._shown[status.conversation_id] = data
        else:
            self._shown.pop(status.conversation_id, None)
        self.bus.publish(DomainEvent(EventName.WAIT_UPDATED, status.conversation_id, data=data))

    async def _notify(self, conversation_id: int, text: str, kind: str, **payload: Any) -> MessageView:
        """A stored notice for the customer (delivered by outbound delivery, shown to agents)."""
        [message] = await self.conversations.add_messages(conversation_id, [
            MessageDraft(SenderKind.SYSTEM, text, {"wait_notice": kind, **payload})])
        self.bus.publish(DomainEvent(EventName.WAIT_NOTICE, conversation_id, (message,), data={"kind": kind}))
        return message

    # ---- reactions (called by the QueueWatch listener) ------------------------------------

    async def queue_changed(self, changed_id: Optional[int] = None) -> None:
        """Someone joined, left or moved in the queue: keep every waiting customer's place true."""
        availability = await self.availability()
        queue = await self.waiting.queue()
        for row in queue:
            position = row.position or 0
            if row.stated_position is not None and position > row.stated_position:
                # Priority moved someone ahead: never a worse place without telling them.
                if await self.waiting.raise_stated(row.conversation_id, position):
                    texts = self.config.texts
                    await self._notify(row.conversation_id, texts.fill(texts.moved_back, position), "moved_back",
                                       queue_position=position)
                    row = replace(row, stated_position=position)
            elif self.live_status(row.channel) and position != row.stated_position:
                await self.waiting.set_stated(row.conversation_id, position)
            if self.live_status(row.channel):
                status = await self.status(row.conversation_id, availability, row)
                if status is not None:
                    self._publish_status(status)
        if changed_id is not None and all(r.conversation_id != changed_id for r in queue):
            status = await self.status(changed_id, availability)
            if status is not None:
                self._publish_status(status, force=True)

    async def customer_wrote(self, conversation_id: int, message: MessageView) -> None:
        """A waiting customer's further message is acknowledged (a live status, or a notice now and then)."""
        row = await self.waiting.get(conversation_id)
        if row is None or row.status is not ConversationStatus.QUEUED:
            return
        if row.handoff_message_id is not None and message.id <= row.handoff_message_id:
            return   # the message that handed off: its notice is the answer
        texts = self.config.texts
        email = find_email(message.text)
        if email and row.left_message_at is None and (row.message_offered_at is not None
                                                      or not (await self.availability()).staffed):
            # On channels without the widget's form, a message with an address is how one is left.
            await self.leave_contact(conversation_id, email)
            return
        position = await self.conversations.queue_position(conversation_id)
        if self.live_status(row.channel):
            status = await self.status(conversation_id, row=replace(row, position=position))
            if status is not None:
                await self.waiting.set_stated(conversation_id, position)
                self._publish_status(status, force=True, acknowledged_message_id=message.id)
            return
        not_since = datetime.now(timezone.utc) - timedelta(seconds=self.config.notice_interval_seconds)
        if await self.waiting.take_notice_slot(conversation_id, not_since, position):
            wait = await self.estimate_for(position, await self.availability())
            await self._notify(conversation_id, texts.fill(texts.still_waiting, position,
                                                           estimate=texts.estimate_clause(wait)),
                               "still_waiting", queue_position=position)

    async def leave_contact(self, conversation_id: int, email: str) -> Optional[MessageView]:
        """The customer left an e-mail address for the answer: stored, confirmed, shown to agents."""
        if not await self.waiting.leave_contact(conversation_id, email):
            return None
        texts = self.config.texts
        notice = await self._notify(conversation_id, texts.fill(texts.message_left, email=email), "message_left")
        self.bus.publish(DomainEvent(EventName.MESSAGE_LEFT, conversation_id, data={"email": email}))
        status = await self.status(conversation_id)
        if status is not None and self.live_status((await self.waiting.get(conversation_id)).channel):
            self._publish_status(status, force=True)
        return notice

    async def tick(self) -> None:
        """Every few seconds: long waits get the offer; live customers see availability change."""
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=self.config.max_wait_seconds)
        texts = self.config.texts
        for conversation_id in await self.waiting.overdue(cutoff):
            if await self.waiting.take_offer(conversation_id):
                await self._notify(conversation_id, texts.long_wait_offer, "long_wait_offer")
        await self.queue_changed()
