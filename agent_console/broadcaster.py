"""Listener: every domain event reaches every connected agent console, live.

It builds the console's payloads itself (the event is only the fact): the messages it
carries, and the conversation's summary as it is now.
"""

from __future__ import annotations

from agent_console.namespace import ROOM, TRAINER_ROOM, AgentNamespace
from bot.events import DomainEvent, EventName
from bot.store.conversations import ConversationStore, NotFound


WORKBENCH_EVENTS = (EventName.REVIEW_QUEUED, EventName.MESSAGE_REVIEWED, EventName.MODEL_CHANGED,
                    EventName.SETTINGS_CHANGED)


class ConsoleBroadcaster:
    def __init__(self, namespace: AgentNamespace, conversations: ConversationStore) -> None:
        self.namespace = namespace
        self.conversations = conversations

    async def __call__(self, event: DomainEvent) -> None:
        ns = self.namespace
        if not await ns.may_have_listeners():
            # Nobody to tell: a console that connects later loads the queue, and one that
            # reconnects replays what it missed from the store.
            return
        if event.name is EventName.TYPING:
            await ns.emit("typing", {"conversation_id": event.conversation_id, "agent_id": event.actor_id,
                                     **event.data}, room=ROOM)
            return
        if event.name is EventName.DELIVERY_CHANGED:
            await ns.emit("delivery", {"conversation_id": event.conversation_id, **event.data}, room=ROOM)
            return
        if event.name in WORKBENCH_EVENTS:
            await self._workbench(event)
            return
        for message in event.messages:
            await ns.emit("message", message.as_json(), room=ROOM)
        try:
            summary = (await self.conversations.summary(event.conversation_id)).as_json()
        except NotFound:
            return
        await ns.emit("conversation", summary, room=ROOM)
        if event.name is EventName.HANDED_OFF:
            await ns.emit("handoff", summary, room=ROOM)
        if event.name in (EventName.ASSIGNED, EventName.HANDED_BACK, EventName.RESOLVED):
            await ns.broadcast_presence()

    async def _workbench(self, event: DomainEvent) -> None:
        """The trainers' screens: new inbox items, verdicts, training progress, settings."""
        ns = self.namespace
        if event.name is EventName.REVIEW_QUEUED:
            from bot.review_inbox import suggested_example
            from bot.store.review import ReviewItem

            message = event.messages[0]
            item = ReviewItem(message.id, message.conversation_id, message.text, message.channel,
                              event.data.get("reason", ""), None, message.nlu, message.label, None, message.created_at)
            await ns.emit("review_item", {**item.as_json(), **suggested_example(item)}, room=TRAINER_ROOM)
        elif event.name is EventName.MESSAGE_REVIEWED:
            await ns.emit("reviewed", dict(event.data), room=TRAINER_ROOM)
        elif event.name is EventName.MODEL_CHANGED:
            await ns.emit("model", dict(event.data), room=TRAINER_ROOM)
        elif event.name is EventName.SETTINGS_CHANGED:
            await ns.emit("settings", dict(event.data), room=TRAINER_ROOM)
