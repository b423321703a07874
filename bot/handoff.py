"""The handoff policy: for each customer message, answer or hand off, and say why.

Rasa's FallbackClassifier (`nlu_fallback`) is one signal here, not a second
decision maker. The confidence thresholds (a default and one per intent where
that helps) and the ambiguity margin are chosen by `baton evaluate` for a
wrong-answer rate the operator sets, and written to data/handoff_thresholds.yml,
which the server reads at start. Setting BATON_CONFIDENCE_THRESHOLD (or
BATON_AMBIGUITY_MARGIN) explicitly overrides the learned values with one global one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Tuple

import yaml

from bot.domain import AwaitedSlot, HandoffDecision, HandoffReason, NluParse, Verdict
from bot.engine import BotFailure, BotTimeout, BotUnavailable

FALLBACK_INTENT = "nlu_fallback"

# Conversations that a person must see sooner sort first in the queue.
PRIORITY = {
    HandoffReason.ALWAYS_HUMAN_INTENT: 2,
    HandoffReason.BUSINESS_RULE: 2,
    HandoffReason.HUMAN_REQUESTED: 1,
}


@dataclass(frozen=True)
class LearnedThresholds:
    """What `baton evaluate` chose, as stored in the thresholds file."""

    default: float
    margin: float
    intents: Dict[str, float] = field(default_factory=dict)
    target_wrong_answer_rate: float = 0.02
    provenance: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> "LearnedThresholds":
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        intents = {str(k): float(v) for k, v in (raw.get("per_intent") or {}).items()}
        for value in [raw["default"], raw["margin"], *intents.values()]:
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{path}: thresholds must be between 0 and 1, got {value}")
        return cls(float(raw["default"]), float(raw["margin"]), intents,
                   float(raw.get("target_wrong_answer_rate", 0.02)), dict(raw.get("provenance") or {}))

    def write(self, path: Path) -> None:
        body = {"default": round(self.default, 3), "margin": round(self.margin, 3),
                "target_wrong_answer_rate": self.target_wrong_answer_rate,
                # not "intents": Rasa would take a file with that key in data/ for a domain
                "per_intent": {k: round(v, 3) for k, v in sorted(self.intents.items())},
                "provenance": self.provenance}
        header = ("# Written by `baton evaluate`; read by `baton serve` at start (settings:\n"
                  "# handoff_thresholds_path). Confidence below an intent's threshold (or `default`),\n"
                  "# or a top-two gap below `margin`, is a miss. Do not edit by hand: re-run evaluate.\n")
        Path(path).write_text(header + yaml.safe_dump(body, sort_keys=False), encoding="utf-8")


@dataclass(frozen=True)
class PolicyConfig:
    # The same defaults as Settings (which is where they are normally set from).
    confidence_threshold: float = 0.90
    ambiguity_margin: float = 0.10
    max_consecutive_misses: int = 2
    always_human_intents: Tuple[str, ...] = ("complaint",)
    human_request_intents: Tuple[str, ...] = ("request_human",)
    business_rule_keywords: Tuple[str, ...] = field(default_factory=tuple)
    intent_thresholds: Mapping[str, float] = field(default_factory=dict)  # overrides per intent
    # Recognised as something the bot cannot help with: a miss (the customer is told what the
    # bot can do and asked to rephrase; a second miss in a row hands off), never an answer.
    out_of_scope_intents: Tuple[str, ...] = ("out_of_scope",)
    # Several requests in one message: parts whose intents are social (not a request) never count,
    # and intents of one group are one request ("where is my order and when will it arrive").
    social_intents: Tuple[str, ...] = ("greet", "goodbye", "thanks", "affirm", "deny", "bot_challenge")
    related_intents: Tuple[Tuple[str, ...], ...] = ()

    def threshold_for(self, intent: str) -> float:
        return self.intent_thresholds.get(intent, self.confidence_threshold)

    @property
    def routed_intents(self) -> Tuple[str, ...]:
        """Intents that go to a person by rule, whatever the confidence."""
        return self.human_request_intents + self.always_human_intents

    @classmethod
    def from_settings(cls, settings) -> "PolicyConfig":
        threshold, margin, per_intent = settings.confidence_threshold, settings.ambiguity_margin, {}
        learned = load_learned_thresholds(settings)
        if learned is not None:
            explicit = settings.__fields_set__  # values the operator set (file, env, flags)
            if "confidence_threshold" not in explicit:
                threshold, per_intent = learned.default, learned.intents
            if "ambiguity_margin" not in explicit:
                margin = learned.margin
        return cls(
            confidence_threshold=threshold,
            ambiguity_margin=margin,
            max_consecutive_misses=settings.max_consecutive_misses,
            always_human_intents=tuple(settings.always_human_intents),
            human_request_intents=tuple(settings.human_request_intents),
            business_rule_keywords=tuple(k.lower() for k in settings.business_rule_keywords),
            intent_thresholds=per_intent,
            social_intents=tuple(settings.social_intents),
            related_intents=tuple(tuple(group) for group in settings.related_intents),
        )


def load_learned_thresholds(settings) -> Optional[LearnedThresholds]:
    path = getattr(settings, "handoff_thresholds_path", None)
    if not path or not Path(path).is_file():
        return None
    return LearnedThresholds.read(Path(path))


def _only_a_detail(part: NluParse) -> bool:
    """"Order 30981", "ada@example.com": a detail for the other request, not a request of its own."""
    text = part.text
    for e in sorted(part.entities, key=lambda e: e.get("start") or 0, reverse=True):
        if isinstance(e.get("start"), int) and isinstance(e.get("end"), int):
            text = text[:e["start"]] + " " + text[e["end"]:]
    return len(text.split()) <= 1


def _handoff(reason: HandoffReason, detail: str) -> HandoffDecision:
    return HandoffDecision(Verdict.HANDOFF, reason, detail, PRIORITY.get(reason, 0))


class HandoffPolicy:
    def __init__(self, config: PolicyConfig) -> None:
        self.config = config

    def decide(self, parse: NluParse, misses_so_far: int, awaiting: Optional[AwaitedSlot] = None,
               parts: Sequence[NluParse] = ()) -> HandoffDecision:
        """The verdict on a parsed message, before the bot says anything.

        `awaiting`: the slot the bot just asked for, if any; `parts`: the parses of the message's
        parts when it may carry several requests (bot.multi_request).
        """
        c = self.config
        if parse.intent in c.human_request_intents:
            return _handoff(HandoffReason.HUMAN_REQUESTED,
                            f"customer asked for a person ({parse.intent} {parse.confidence:.2f})")
        if parse.intent in c.always_human_intents:
            return _handoff(HandoffReason.ALWAYS_HUMAN_INTENT,
                            f"{parse.intent} always goes to a person ({parse.confidence:.2f})")
        keyword = self._business_keyword(parse.text)
        if keyword:
            return _handoff(HandoffReason.BUSINESS_RULE, f"message mentions {keyword!r}")
        if awaiting is not None and awaiting.answered_by(parse):
            # The answer to the bot's own question: a bare "12345" has no intent to be sure of.
            return HandoffDecision(Verdict.ANSWER, detail=f"answers the bot's question for {awaiting.slot}",
                                   answers_slot=awaiting.slot)
        several = self._several_requests(parts)
        if several:
            return _handoff(HandoffReason.MULTIPLE_REQUESTS, several)
        miss = self._miss(parse)
        if miss is None:
            return HandoffDecision(Verdict.ANSWER)
        return self._after_miss(miss, misses_so_far)

    def after_empty_reply(self, misses_so_far: int) -> HandoffDecision:
        """Rasa answered with nothing: a miss, never an answer."""
        return self._after_miss((HandoffReason.LOW_CONFIDENCE, "the bot had no reply"), misses_so_far)

    def on_failure(self, failure: BotFailure) -> HandoffDecision:
        if isinstance(failure, BotTimeout):
            return _handoff(HandoffReason.BOT_TIMEOUT, str(failure))
        if isinstance(failure, BotUnavailable):
            return _handoff(HandoffReason.BOT_UNAVAILABLE, str(failure))
        return _handoff(HandoffReason.BOT_ERROR, str(failure))

    def _miss(self, parse: NluParse) -> Optional[Tuple[HandoffReason, str]]:
        c = self.config
        if parse.intent in (None, FALLBACK_INTENT):
            best = next((r for r in parse.ranking if r["name"] != FALLBACK_INTENT), None)
            score = f"{best['name']} {best['confidence']:.2f}" if best else "no intent"
            return HandoffReason.LOW_CONFIDENCE, f"Rasa fell back ({score})"
        if parse.intent in c.out_of_scope_intents:
            return HandoffReason.LOW_CONFIDENCE, f"out of scope ({parse.intent} {parse.confidence:.2f})"
        threshold = c.threshold_for(parse.intent)
        if parse.confidence < threshold:
            return (HandoffReason.LOW_CONFIDENCE,
                    f"{parse.intent} {parse.confidence:.2f} < threshold {threshold:.2f}")
        margin = parse.top_two_margin()
        if margin is not None and margin < c.ambiguity_margin:
            second = [r for r in parse.ranking if r["name"] != FALLBACK_INTENT][1]
            return (HandoffReason.AMBIGUOUS,
                    f"{parse.intent} {parse.confidence:.2f} vs {second['name']} "
                    f"{second['confidence']:.2f} (margin < {c.ambiguity_margin:.2f})")
        return None

    def _several_requests(self, parts: Sequence[NluParse]) -> Optional[str]:
        """Why the parts are several requests (confident, of different kinds), or None."""
        c = self.config
        requests = [p for p in parts
                    if p.intent and p.intent != FALLBACK_INTENT and p.intent not in c.out_of_scope_intents
                    and p.intent not in c.social_intents and p.confidence >= c.threshold_for(p.intent)
                    and not _only_a_detail(p)]
        if len({self._kind(p.intent) for p in requests}) < 2:
            return None
        return "several requests in one message: " + ", ".join(
            f"{p.intent} {p.confidence:.2f}" for p in requests)

    def _kind(self, intent: str) -> str:
        return next((group[0] for group in self.config.related_intents if intent in group), intent)

    def _after_miss(self, miss: Tuple[HandoffReason, str], misses_so_far: int) -> HandoffDecision:
        reason, detail = miss
        misses = misses_so_far + 1
        if misses < self.config.max_consecutive_misses:
            return HandoffDecision(Verdict.REPHRASE, reason, detail)
        if misses == 1:  # configured to hand off on the first miss
            return _handoff(reason, detail)
        return _handoff(HandoffReason.REPEATED_FALLBACK, f"{misses} misses in a row; last: {detail}")

    def _business_keyword(self, text: str) -> Optional[str]:
        lowered = text.lower()
        return next((k for k in self.config.business_rule_keywords if k and k in lowered), None)


def is_miss(decision: HandoffDecision) -> bool:
    return decision.verdict is Verdict.REPHRASE or decision.reason in (
        HandoffReason.LOW_CONFIDENCE, HandoffReason.AMBIGUOUS, HandoffReason.REPEATED_FALLBACK)


def reasons() -> Iterable[str]:
    return (r.value for r in HandoffReason)
