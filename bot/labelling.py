"""Labelling a customer message with the intent it really had (agents and trainers both do it).

Labels feed the trainer's review inbox; each one is published as a fact so every open
console (and the inbox) updates at once.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Optional, Sequence

from bot.agent_actions import ActionError
from bot.events import DomainEvent, EventBus, EventName
from bot.store.conversations import ConversationStore, NotFound
from bot.views import MessageView, UserView


class Labelling:
    def __init__(self, conversations: ConversationStore, bus: EventBus,
                 known_intents: Callable[[], Sequence[str]]) -> None:
        self.conversations = conversations
        self.bus = bus
        self.known_intents = known_intents

    async def label(self, message_id: int, actor: UserView, intent: Optional[str],
                    out_of_scope: bool = False) -> MessageView:
        if not out_of_scope:
            if not intent:
                raise ActionError("bad_label", "give an intent or out_of_scope: true", 422)
            intents = self.known_intents()
            if intents and intent not in intents:
                raise ActionError("unknown_intent", f"{intent!r} is not an intent of this bot", 422)
        label = {"intent": None if out_of_scope else intent, "out_of_scope": out_of_scope,
                 "by": actor.username, "at": datetime.now(timezone.utc).isoformat()}
        try:
            message = await self.conversations.set_label(message_id, label)
        except NotFound:
            raise ActionError("not_found", f"no message {message_id}", 404)
        except ValueError as exc:
            raise ActionError("bad_label", str(exc), 422)
        self.bus.publish(DomainEvent(EventName.MESSAGE_LABELLED, message.conversation_id, (message,),
                                     actor_id=actor.id))
        return message
