"""Listener: every domain event reaches every connected agent console, live."""

from __future__ import annotations

from bot.events import DomainEvent, EventName
from agent_console.namespace import ROOM, AgentNamespace


class ConsoleBroadcaster:
    def __init__(self, namespace: AgentNamespace) -> None:
        self.namespace = namespace

    async def __call__(self, event: DomainEvent) -> None:
        ns = self.namespace
        if event.name is EventName.TYPING:
            await ns.emit("typing", {"conversation_id": event.conversation_id, **event.data}, room=ROOM)
            return
        for message in event.messages:
            await ns.emit("message", message, room=ROOM)
        if event.conversation is not None:
            await ns.emit("conversation", event.conversation, room=ROOM)
        if event.name is EventName.HANDED_OFF and event.conversation is not None:
            await ns.emit("handoff", event.conversation, room=ROOM)
        if event.name in (EventName.ASSIGNED, EventName.HANDED_BACK, EventName.RESOLVED):
            await ns.broadcast_presence()
