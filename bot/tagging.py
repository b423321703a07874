"""Conversation tags: agents set them by hand, rules (intent → tag) set them as customers write.

A tag is a short lowercase word (`refund`, `vip`, `damaged-item`), so filters and rules match it
however it was typed. Every change is published (`tagged`) for the consoles.
"""

from __future__ import annotations

import re
from typing import Dict, Mapping, Optional

from bot.events import DomainEvent, EventBus, EventName
from bot.store.tags import TagStore
from bot.views import UserView

TAG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class TagError(Exception):
    def __init__(self, code: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def clean_tag(value: object) -> str:
    """'  Damaged item ' → 'damaged-item'; anything that is not a short word is refused."""
    if not isinstance(value, str):
        raise TagError("bad_tag", "a tag is a short word")
    tag = re.sub(r"\s+", "-", value.strip().lower().lstrip("#"))
    if not TAG.match(tag):
        raise TagError("bad_tag", "a tag is 1-40 letters, digits, - or _ (e.g. refund, vip, damaged-item)")
    return tag


def clean_rules(rules: Mapping[str, object]) -> Dict[str, str]:
    """Intent → tag rules, checked (the admin's settings and the config file use this)."""
    if not isinstance(rules, Mapping) or len(rules) > 200:
        raise TagError("bad_tag_rules", "tag rules are a mapping of intent to tag")
    clean = {}
    for intent, tag in rules.items():
        if not isinstance(intent, str) or not 0 < len(intent.strip()) <= 63:
            raise TagError("bad_tag_rules", f"{str(intent)[:40]!r} is not an intent name")
        clean[intent.strip()] = clean_tag(tag)
    return clean


class Tagging:
    def __init__(self, tags: TagStore, bus: EventBus, rules: Optional[Mapping[str, str]] = None) -> None:
        self.tags = tags
        self.bus = bus
        self.rules: Dict[str, str] = dict(rules or {})

    async def tag(self, conversation_id: int, value: object, actor: UserView) -> str:
        tag = clean_tag(value)
        try:
            added = await self.tags.add(conversation_id, tag, "agent", actor.id)
        except LookupError:
            raise TagError("not_found", f"no conversation {conversation_id}", 404)
        if added:
            self.bus.publish(DomainEvent(EventName.TAGGED, conversation_id, actor_id=actor.id,
                                         data={"tag": tag, "added": True, "source": "agent"}))
        return tag

    async def untag(self, conversation_id: int, value: object, actor: UserView) -> str:
        tag = clean_tag(value)
        if await self.tags.remove(conversation_id, tag):
            self.bus.publish(DomainEvent(EventName.TAGGED, conversation_id, actor_id=actor.id,
                                         data={"tag": tag, "added": False, "source": "agent"}))
        return tag

    async def __call__(self, event: DomainEvent) -> None:
        """Listener (message_received): a rule's intent tags the conversation."""
        for message in event.messages:
            intent = (message.nlu or {}).get("intent")
            tag = self.rules.get(intent) if intent else None
            if tag:
                try:
                    added = await self.tags.add(event.conversation_id, tag, "rule")
                except LookupError:
                    return
                if added:
                    self.bus.publish(DomainEvent(EventName.TAGGED, event.conversation_id,
                                                 data={"tag": tag, "added": True, "source": "rule",
                                                       "intent": intent}))
