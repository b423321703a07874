"""Domain events and the bus that carries them to listeners.

The conversation core never calls the console, the channels or the review inbox
directly: it publishes what happened, and listeners (one module each) react.
"""

from __future__ import annotations

import enum
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional

log = logging.getLogger(__name__)


class EventName(str, enum.Enum):
    MESSAGE_RECEIVED = "message_received"    # a customer wrote
    BOT_REPLIED = "bot_replied"
    HANDED_OFF = "handed_off"                # bot → queue
    ASSIGNED = "assigned"                    # claim, auto-assign or transfer
    AGENT_REPLIED = "agent_replied"
    NOTE_ADDED = "note_added"
    SYSTEM_MESSAGE = "system_message"        # a notice for the customer (joined, back with the bot)
    HANDED_BACK = "handed_back"              # person → bot
    RESOLVED = "resolved"
    REOPENED = "reopened"
    MESSAGE_LABELLED = "message_labelled"
    TYPING = "typing"


@dataclass(frozen=True)
class DomainEvent:
    name: EventName
    conversation_id: int
    conversation: Optional[Dict[str, Any]] = None   # serialised summary, after the change
    messages: List[Dict[str, Any]] = field(default_factory=list)  # serialised, new ones
    data: Dict[str, Any] = field(default_factory=dict)


Listener = Callable[[DomainEvent], Awaitable[None]]


class EventBus:
    def __init__(self) -> None:
        self._listeners: Dict[Optional[EventName], List[Listener]] = defaultdict(list)

    def subscribe(self, listener: Listener, *names: EventName) -> None:
        """Listen to the named events, or to every event when none are named."""
        for name in names or (None,):
            self._listeners[name].append(listener)

    async def publish(self, event: DomainEvent) -> None:
        for listener in self._listeners[event.name] + self._listeners[None]:
            try:
                await listener(event)
            except Exception:
                # One broken listener must not stop the others, nor the customer's
                # turn that caused the event; it is logged where operators look.
                log.exception("listener %r failed on %s", listener, event.name.value)
