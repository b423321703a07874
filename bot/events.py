"""Domain events and the bus that carries them to listeners.

The conversation core never calls the console, the channels or the review inbox directly:
it publishes what happened, as a plain fact, and listeners (one module each) decide what to
do about it. Publishing never waits for a listener: each listener has its own ordered queue
and task, so a slow one (a callback POST, a CRM call) never holds a customer's turn, and a
failing one never stops the others.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Tuple

from bot.views import MessageView

log = logging.getLogger(__name__)


class EventName(str, enum.Enum):
    MESSAGE_RECEIVED = "message_received"    # a customer wrote (messages: theirs, with what the bot understood)
    CONVERSATION_OPENED = "opened"           # a customer's first message started a conversation
    CONVERSATION_REOPENED = "reopened"       # a customer wrote again after it was resolved; the bot has it
    BOT_REPLIED = "bot_replied"              # messages: the bot's replies; data: verdict
    HANDED_OFF = "handed_off"                # bot → queue; data: reason, queue_position; messages: the notice
    ASSIGNED = "assigned"                    # claim, auto-assignment or transfer; actor_id, data: assignee_id
    AGENT_JOINED = "agent_joined"            # the assignee opened a conversation given to them; messages: the notice
    AGENT_REPLIED = "agent_replied"
    NOTE_ADDED = "note_added"
    HANDED_BACK = "handed_back"              # person → bot; messages: the notice
    RESOLVED = "resolved"
    MESSAGE_LABELLED = "message_labelled"
    TYPING = "typing"                        # data: who (customer | agent), typing
    DELIVERY_CHANGED = "delivery_changed"    # an outbound message was sent, failed or is retried
    REVIEW_QUEUED = "review_queued"          # the bot was unsure about a customer message; data: reason
    MESSAGE_REVIEWED = "message_reviewed"    # a trainer confirmed, relabelled, marked or dismissed messages
    MODEL_CHANGED = "model_changed"          # training progress, a new version, an activation (conversation 0)
    SETTINGS_CHANGED = "settings_changed"    # handoff settings changed in the console (conversation 0)
    OPERATIONS_CHANGED = "operations_changed"  # operations settings changed in the console (conversation 0)
    WAIT_UPDATED = "wait_updated"            # a waiting customer's place, estimate or availability changed; data: status
    WAIT_NOTICE = "wait_notice"              # a notice for a waiting customer (ack, worse place, offer); messages
    MESSAGE_LEFT = "message_left"            # a waiting customer left an e-mail address for an answer; data: email
    TAGGED = "tagged"                        # a tag was added or removed; data: tag, added, source (agent | rule)
    RATED = "rated"                          # a customer answered the satisfaction question; data: score, agent_id


@dataclass(frozen=True)
class DomainEvent:
    """What happened to a conversation: ids, the typed messages it produced, and small facts."""

    name: EventName
    conversation_id: int
    messages: Tuple[MessageView, ...] = ()
    actor_id: Optional[int] = None            # the person who did it, when a person did
    data: Mapping[str, Any] = field(default_factory=dict)


Listener = Callable[[DomainEvent], Awaitable[None]]


class _Mailbox:
    """One listener's ordered queue, drained by its own task."""

    def __init__(self, listener: Listener, names: Tuple[Optional[EventName], ...]) -> None:
        self.listener = listener
        self.names = names
        self.queue: "asyncio.Queue[DomainEvent]" = asyncio.Queue()
        self.task: Optional[asyncio.Task] = None

    def wants(self, event: DomainEvent) -> bool:
        return None in self.names or event.name in self.names

    def ensure_running(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run(), name=f"listener {self.listener!r}")

    async def _run(self) -> None:
        while True:
            event = await self.queue.get()
            try:
                await self.listener(event)
            except Exception:
                # One broken listener must not stop the others, nor the turn that caused the event;
                # it is logged where operators look.
                log.exception("listener %r failed on %s", self.listener, event.name.value)
            finally:
                self.queue.task_done()


class EventBus:
    def __init__(self) -> None:
        self._mailboxes: List[_Mailbox] = []

    def subscribe(self, listener: Listener, *names: EventName) -> None:
        """Listen to the named events, or to every event when none are named."""
        self._mailboxes.append(_Mailbox(listener, tuple(names) or (None,)))

    def publish(self, event: DomainEvent) -> None:
        """Hand the event to every interested listener; returns at once."""
        for mailbox in self._mailboxes:
            if mailbox.wants(event):
                mailbox.ensure_running()
                mailbox.queue.put_nowait(event)

    async def drain(self) -> None:
        """Wait until every listener has handled everything published so far (tests, shutdown)."""
        for mailbox in self._mailboxes:
            if mailbox.task is not None and not mailbox.task.done():
                await mailbox.queue.join()

    async def drain_briefly(self, seconds: float) -> None:
        """Let listeners finish what is queued, but not for longer than `seconds` (shutdown)."""
        try:
            await asyncio.wait_for(self.drain(), seconds)
        except asyncio.TimeoutError:
            pass

    async def close(self) -> None:
        for mailbox in self._mailboxes:
            if mailbox.task is not None:
                mailbox.task.cancel()
                await asyncio.gather(mailbox.task, return_exceptions=True)
                mailbox.task = None

    def listeners(self) -> Dict[str, List[str]]:
        """Which listener hears which event (for docs and tests)."""
        table: Dict[str, List[str]] = defaultdict(list)
        for mailbox in self._mailboxes:
            for name in mailbox.names:
                table[name.value if name else "*"].append(type(mailbox.listener).__name__)
        return dict(table)
