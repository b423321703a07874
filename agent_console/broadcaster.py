"""Listener: every domain event reaches every connected agent console, live.

It builds the console's payloads itself (the event is only the fact): the messages it
carries, and the conversation's summary as it is now.
"""

from __future__ import annotations

from agent_console.namespace import ROOM, AgentNamespace
from bot.events import DomainEvent, EventName
from bot.store.conversations import ConversationStore, NotFound


class ConsoleBroadcaster:
    def __init__(self, namespace: AgentNamespace, conversations: ConversationStore) -> None:
        self.namespace = namespace
        self.conversations = conversations

    async def __call__(self, event: DomainEvent) -> None:
        ns = self.namespace
        if not ns.may_have_listeners():
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
