"""The arithmetic of the three figures, in one place, free of Rasa.

Every message ends one of three ways for the customer: the bot acts on an intent
(answers with it, or routes the conversation to a person by that intent's rule,
as for `request_human` and `complaint`), the bot acts on `out_of_scope` (its
"I can't help with that" reply), or the bot defers (asks to rephrase, or hands
off because it is unsure). `acted` is the intent acted on, or None for deferring.

- automation rate: share of in-scope messages acted on with their right intent.
- wrong-answer rate: share of ALL messages (out-of-scope ones included) answered
  with a wrong intent. Routing to a person or the out-of-scope reply is never a
  wrong answer: a person or an honest "I can't" follows, not false information.
- out-of-scope recall: share of out-of-scope messages that got no answer, i.e.
  were deferred, routed to a person, or given the out-of-scope reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Dict, Iterable, List, Optional, Sequence, Tuple

OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class Handled:
    """What happened to one test message."""

    truth: str
    acted: Optional[str]


@dataclass(frozen=True)
class Figures:
    in_scope: int
    out_of_scope: int
    right: int          # in-scope messages acted on with the right intent
    wrong: int          # messages (any) answered with a wrong intent
    oos_caught: int     # out-of-scope messages not answered

    @property
    def automation(self) -> float:
        return self.right / self.in_scope if self.in_scope else 0.0

    @property
    def wrong_answer(self) -> float:
        total = self.in_scope + self.out_of_scope
        return self.wrong / total if total else 0.0

    @property
    def oos_recall(self) -> float:
        return self.oos_caught / self.out_of_scope if self.out_of_scope else 0.0

    def as_dict(self) -> Dict[str, float]:
        return {"automation": round(self.automation, 4), "wrong_answer": round(self.wrong_answer, 4),
                "oos_recall": round(self.oos_recall, 4), "in_scope": self.in_scope,
                "out_of_scope": self.out_of_scope, "right": self.right, "wrong": self.wrong,
                "oos_caught": self.oos_caught}


def is_answer(acted: Optional[str], routed_intents: Collection[str]) -> bool:
    """Did the customer get an answer from the bot (not a person, not 'I can't help')?"""
    return acted is not None and acted != OUT_OF_SCOPE and acted not in routed_intents


def is_wrong(item: Handled, routed_intents: Collection[str]) -> bool:
    return is_answer(item.acted, routed_intents) and item.acted != item.truth


def figures(items: Iterable[Handled], routed_intents: Collection[str] = ()) -> Figures:
    in_scope = oos = right = wrong = caught = 0
    for item in items:
        wrong_answer = is_wrong(item, routed_intents)
        wrong += wrong_answer
        if item.truth == OUT_OF_SCOPE:
            oos += 1
            caught += not wrong_answer
        else:
            in_scope += 1
            right += item.acted == item.truth
    return Figures(in_scope, oos, right, wrong, caught)


@dataclass(frozen=True)
class IntentRow:
    intent: str
    messages: int          # test messages whose truth is this intent
    right: int             # ...acted on with this intent (for out_of_scope: not answered)
    wrong: int             # ...answered with another intent
    answered_wrongly_as: int  # messages of other truths answered wrongly as this intent


def per_intent(items: Sequence[Handled], routed_intents: Collection[str] = ()) -> List[IntentRow]:
    intents = sorted({i.truth for i in items} | {i.acted for i in items if i.acted})
    rows = []
    for intent in intents:
        own = [i for i in items if i.truth == intent]
        wrong = sum(is_wrong(i, routed_intents) for i in own)
        right = len(own) - wrong if intent == OUT_OF_SCOPE else sum(i.acted == intent for i in own)
        as_this = sum(1 for i in items if i.acted == intent and is_wrong(i, routed_intents))
        rows.append(IntentRow(intent, len(own), right, wrong, as_this))
    return rows


def at_automation(curve: Sequence[Tuple[float, Figures]], automation: float) -> Optional[Figures]:
    """The point of a threshold curve with the lowest wrong-answer rate that still automates
    at least `automation` (None when no point reaches it)."""
    reaching = [f for _, f in curve if f.automation >= automation]
    return min(reaching, key=lambda f: (f.wrong_answer, -f.automation)) if reaching else None
