"""What the live handoff policy does with a parse, reduced to the intent it acts on."""

from __future__ import annotations

from typing import Optional

from bot.domain import HandoffReason, NluParse, Verdict
from bot.handoff import HandoffPolicy

_ROUTED = (HandoffReason.HUMAN_REQUESTED, HandoffReason.ALWAYS_HUMAN_INTENT)


def acted_on(policy: HandoffPolicy, parse: NluParse) -> Optional[str]:
    """The intent the bot answers with or routes by; None when it asks to rephrase or hands off
    because it is unsure (or a business rule fires). Scored as a customer's first message."""
    decision = policy.decide(parse, misses_so_far=0)
    if decision.verdict is Verdict.ANSWER or decision.reason in _ROUTED:
        return parse.intent
    return None
