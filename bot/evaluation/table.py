"""The live handoff policy's verdicts on many parses at once, with numpy.

Choosing thresholds scores a few thousand candidate settings on every held-out parse:
on Banking77 (7,500 validation parses a seed) calling `HandoffPolicy.decide` for each
one took minutes per seed. Which intent the policy acts on depends only on a handful
of facts per parse (its intent, confidence, top-two gap, whether it names a business
keyword), so those are read once into arrays and every setting is scored with a few
vector operations. The result is the same as `acted_on` through `HandoffPolicy`
(tests/bot/test_threshold_table.py checks that on random parses and settings).
"""

from __future__ import annotations

from typing import Dict, Iterable, Mapping, Optional, Sequence, Tuple

import numpy as np

from bot.evaluation.metrics import OUT_OF_SCOPE, Figures
from bot.handoff import FALLBACK_INTENT, PolicyConfig

NONE = -1  # the code of "no intent"


class ParseTable:
    """Labelled parses (objects with `.truth` and `.parse`) as arrays, scored under any PolicyConfig."""

    def __init__(self, items: Sequence) -> None:
        self.items = items
        self.codes: Dict[str, int] = {}
        self.truth = np.array([self.code(i.truth) for i in items], dtype=np.int64)
        self.intent = np.array([NONE if i.parse.intent is None else self.code(i.parse.intent) for i in items],
                               dtype=np.int64)
        self.confidence = np.array([i.parse.confidence for i in items], dtype=np.float64)
        margins = [i.parse.top_two_margin() for i in items]
        # No runner-up: the ambiguity check never fires, as in HandoffPolicy.
        self.margin = np.array([np.inf if m is None else m for m in margins], dtype=np.float64)
        self.size = len(items)
        self._masks: Dict[Tuple[str, ...], np.ndarray] = {}
        self._keyword_masks: Dict[Tuple[str, ...], np.ndarray] = {}
        self._rows: Dict[int, np.ndarray] = {}

    def code(self, name: str) -> int:
        return self.codes.setdefault(name, len(self.codes))

    def intent_in(self, names: Iterable[Optional[str]]) -> np.ndarray:
        """Mask of parses whose predicted intent is one of `names`."""
        key = tuple(sorted(n for n in names if n is not None))
        if key not in self._masks:
            wanted = [self.codes[n] for n in key if n in self.codes]
            self._masks[key] = np.isin(self.intent, wanted) if wanted else np.zeros(self.size, dtype=bool)
        return self._masks[key]

    def _keywords(self, keywords: Tuple[str, ...]) -> np.ndarray:
        if keywords not in self._keyword_masks:
            self._keyword_masks[keywords] = np.array(
                [any(k and k in i.parse.text.lower() for k in keywords) for i in self.items], dtype=bool)
        return self._keyword_masks[keywords]

    def rows_of(self, intent: str) -> np.ndarray:
        code = self.codes.get(intent)
        if code is None:
            return np.zeros(0, dtype=np.int64)
        if code not in self._rows:
            self._rows[code] = np.flatnonzero(self.intent == code)
        return self._rows[code]

    def thresholds(self, default: float, per_intent: Mapping[str, float]) -> np.ndarray:
        values = np.full(self.size, default, dtype=np.float64)
        for intent, threshold in per_intent.items():
            values[self.rows_of(intent)] = threshold
        return values

    def acted(self, config: PolicyConfig) -> np.ndarray:
        """Mask of parses the policy acts on (answers, or routes by intent) as a first message;
        the intent acted on is then the parse's own (`acted_on`)."""
        routed = self.intent_in(config.human_request_intents) | self.intent_in(config.always_human_intents)
        fell_back = (self.intent == NONE) | self.intent_in((FALLBACK_INTENT,))
        confident = self.confidence >= self.thresholds(config.confidence_threshold, config.intent_thresholds)
        clear = ~(self.margin < config.ambiguity_margin)
        answers = ~fell_back & ~self.intent_in(config.out_of_scope_intents) & confident & clear
        if config.business_rule_keywords:
            answers &= ~self._keywords(tuple(config.business_rule_keywords))
        return routed | answers

    def figures(self, config: PolicyConfig, routed_intents: Optional[Sequence[str]] = None) -> Figures:
        """`metrics.figures` of the policy's verdicts, counted with arrays."""
        acted = self.acted(config)
        routed = config.routed_intents if routed_intents is None else routed_intents
        answered = acted & ~self.intent_in((OUT_OF_SCOPE,)) & ~self.intent_in(routed)
        wrong = answered & (self.intent != self.truth)
        oos_code = self.codes.get(OUT_OF_SCOPE, NONE - 1)
        out_of_scope = self.truth == oos_code
        right = ~out_of_scope & acted & (self.intent == self.truth)
        return Figures(int((~out_of_scope).sum()), int(out_of_scope.sum()), int(right.sum()), int(wrong.sum()),
                       int((out_of_scope & ~wrong).sum()))

    def right_wrong_by_intent(self, config: PolicyConfig, counted: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
        """Per predicted intent code: parses acted on rightly, and wrongly (only `counted` intents)."""
        acted = self.acted(config)
        counted_mask = self.intent_in(counted)
        chosen = acted & counted_mask
        length = len(self.codes)
        right = np.bincount(self.intent[chosen & (self.intent == self.truth)], minlength=length)
        wrong = np.bincount(self.intent[chosen & (self.intent != self.truth)], minlength=length)
        return right, wrong
