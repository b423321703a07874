"""The trainers' review inbox: what the bot was unsure about becomes better intent data.

A trainer confirms the bot's guess, picks the right intent, marks a message out of scope, or
dismisses it — one message or a selection of similar ones. Confirmed and relabelled messages
become examples in `data/nlu.yml` (masked: e-mail addresses, phone and card numbers never
become training data); every verdict is published so every trainer's inbox updates live.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence

from bot.events import DomainEvent, EventBus, EventName
from bot.store.review import ReviewFilter, ReviewItem, ReviewStore
from bot.training_data.examples import Span, annotate
from bot.training_data.pii import mask
from bot.training_data.project import ProjectError, RasaProject
from bot.views import UserView

ACTIONS = ("confirm", "relabel", "out_of_scope", "dismiss")
STATUS = {"confirm": "confirmed", "relabel": "relabelled", "out_of_scope": "out_of_scope", "dismiss": "dismissed"}
INTERNAL_INTENTS = {"nlu_fallback", "session_start", "restart", "back"}


class ReviewError(Exception):
    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def suggested_example(item: ReviewItem) -> Dict[str, Any]:
    """The example a message would become: masked, with the entities the bot found annotated."""
    masked, found = mask(item.text)
    spans = []
    if not found:   # offsets only hold while the text is unchanged
        for entity in (item.nlu or {}).get("entities") or []:
            start, end = entity.get("start"), entity.get("end")
            if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(masked):
                spans.append(Span(start, end, str(entity.get("entity"))))
    try:
        annotated = annotate(masked, spans)
    except ValueError:
        annotated = annotate(masked, [])
    return {"example": annotated, "masked": [{"kind": f.kind, "original": f.original, "replacement": f.replacement}
                                             for f in found]}


@dataclass(frozen=True)
class Verdict:
    message_ids: Sequence[int]
    action: str
    intent: Optional[str] = None
    example: Optional[str] = None     # the trainer's edited example (single message only)
    version: Optional[str] = None     # the training data version the trainer saw


class ReviewInbox:
    def __init__(self, review: ReviewStore, project: RasaProject, bus: EventBus,
                 known_intents: Callable[[], Sequence[str]], out_of_scope_intent: str = "out_of_scope") -> None:
        self.review = review
        self.project = project
        self.bus = bus
        self.known_intents = known_intents
        self.out_of_scope_intent = out_of_scope_intent

    def intents(self) -> List[str]:
        """Intents a trainer may pick (never Rasa's internal ones)."""
        return [i for i in self.known_intents() if i not in INTERNAL_INTENTS and not i.startswith("nlu_")]

    async def page(self, f: ReviewFilter) -> Dict[str, Any]:
        page = await self.review.page(f)
        return {"items": [{**item.as_json(), **suggested_example(item)} for item in page.items],
                "counts": page.counts, "open": page.total_open}

    async def similar(self, message_id: int) -> List[Dict[str, Any]]:
        return [{**i.as_json(), **suggested_example(i)} for i in await self.review.similar(message_id)]

    async def act(self, user: UserView, verdict: Verdict) -> Dict[str, Any]:
        if verdict.action not in ACTIONS:
            raise ReviewError(f"action must be one of {', '.join(ACTIONS)}")
        ids = list(dict.fromkeys(verdict.message_ids))
        if not ids:
            raise ReviewError("select at least one message")
        if len(ids) > 500:
            raise ReviewError("at most 500 messages at a time")
        if verdict.example is not None and len(ids) != 1:
            raise ReviewError("an edited example applies to one message")
        items = await self.review.items(ids)
        missing = set(ids) - {i.message_id for i in items}
        if missing:
            raise ReviewError(f"no customer message {sorted(missing)[0]} in the inbox", 404)
        target = self._target(verdict, items)
        written: List[str] = []
        skipped: List[Dict[str, Any]] = []
        version = None
        if target is not None:
            examples = [verdict.example] if verdict.example is not None else [
                suggested_example(i)["example"] for i in items]
            loop = asyncio.get_running_loop()
            try:
                result = await loop.run_in_executor(None, lambda: self.project.add_examples(
                    target, examples, verdict.version, skip_duplicates=True))
            except ProjectError as exc:
                raise ReviewError(str(exc), exc.status)
            written, skipped, version = result["added"], result["skipped"], result["version"]
        status = STATUS[verdict.action]
        await self.review.mark(ids, status, {"by": user.username, "action": verdict.action, "intent": target,
                                             "examples": written})
        self.bus.publish(DomainEvent(EventName.MESSAGE_REVIEWED, 0, actor_id=user.id, data={
            "message_ids": ids, "status": status, "intent": target}))
        return {"ok": True, "status": status, "intent": target, "added": written, "skipped": skipped,
                "version": version}

    def _target(self, verdict: Verdict, items: List[ReviewItem]) -> Optional[str]:
        """The intent the messages become examples of (None: no training data changes)."""
        if verdict.action == "dismiss":
            return None
        if verdict.action == "out_of_scope":
            return self.out_of_scope_intent if self.out_of_scope_intent in self.known_intents() else None
        if verdict.action == "relabel":
            if verdict.intent not in self.intents():
                raise ReviewError(f"{verdict.intent!r} is not an intent a message can be labelled with")
            return verdict.intent
        predicted = {i.predicted for i in items}
        if len(predicted) != 1 or None in predicted or predicted & INTERNAL_INTENTS:
            raise ReviewError("confirm applies to messages the bot guessed as one and the same intent; "
                              "pick the intent instead")
        intent = predicted.pop()
        if intent not in self.intents():
            raise ReviewError(f"the bot's guess {intent!r} is no longer an intent; pick one")
        return intent
