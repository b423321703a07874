"""Listener: events that move the queue, or a customer who writes while waiting, reach the waiting room.

It also runs the waiting room's clock (`tick`): waits that grew too long, and agents coming
online or leaving, are not events on the bus.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Optional

from bot.domain import ConversationStatus
from bot.events import DomainEvent, EventName
from bot.waiting.room import WaitingRoom

log = logging.getLogger(__name__)

QUEUE_EVENTS = (EventName.HANDED_OFF, EventName.ASSIGNED, EventName.AGENT_JOINED, EventName.HANDED_BACK,
                EventName.RESOLVED, EventName.CONVERSATION_REOPENED)
WATCHED_EVENTS = (EventName.MESSAGE_RECEIVED, *QUEUE_EVENTS)


class QueueWatch:
    def __init__(self, room: WaitingRoom, tick_seconds: float = 15.0) -> None:
        self.room = room
        self.tick_seconds = tick_seconds
        self._task: Optional[asyncio.Task] = None
        # The clock and the events take turns, so one change is worked out at a time.
        self._turn = asyncio.Lock()

    async def __call__(self, event: DomainEvent) -> None:
        async with self._turn:
            await self._react(event)

    async def _react(self, event: DomainEvent) -> None:
        if event.name is EventName.MESSAGE_RECEIVED:
            if event.data.get("status", ConversationStatus.QUEUED.value) != ConversationStatus.QUEUED.value:
                return   # written to the bot or to an agent: nobody is waiting (and no query a turn)
            for message in event.messages:
                await self.room.customer_wrote(event.conversation_id, message)
        elif event.name in QUEUE_EVENTS:
            if event.name is EventName.ASSIGNED:
                self.room.forget_samples()   # a claim is a new sample for the estimate
            await self.room.queue_changed(event.conversation_id)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="waiting room clock")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.tick_seconds)
            try:
                # Shielded: a query cancelled half-way would strand SQLite's one pooled connection.
                await asyncio.shield(self._tick())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the waiting room's clock failed; trying again next tick")

    async def _tick(self) -> None:
        async with self._turn:
            await self.room.tick()
