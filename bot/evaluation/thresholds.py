"""Choosing the handoff thresholds from held-out parses, for a target wrong-answer rate.

First one global threshold and margin (the most automation whose wrong-answer
rate stays within the target). Then, per intent, thresholds that trade where it
pays: a message's fate depends only on its own predicted intent's threshold, so
the problem separates by intent; for a price `lam` on a wrong answer each intent
takes the threshold that maximises right - lam * wrong, and `lam` is searched for
the most automation within the target. Intents with too few held-out predictions
keep the global threshold, and the per-intent values are shrunk towards it,
because a threshold fitted on a dozen messages is mostly noise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, List, Sequence, Tuple

from bot.domain import NluParse
from bot.evaluation.metrics import Figures, Handled, figures
from bot.evaluation.replay import acted_on
from bot.handoff import HandoffPolicy, PolicyConfig

THRESHOLDS = [round(0.02 * i, 2) for i in range(0, 50)]
MARGINS = [0.0, 0.05, 0.1, 0.15, 0.2]


@dataclass(frozen=True)
class Labelled:
    truth: str
    parse: NluParse


def handled(config: PolicyConfig, items: Sequence[Labelled]) -> List[Handled]:
    policy = HandoffPolicy(config)
    return [Handled(i.truth, acted_on(policy, i.parse)) for i in items]


def score(config: PolicyConfig, items: Sequence[Labelled]) -> Figures:
    return figures(handled(config, items), config.routed_intents)


def curve(config: PolicyConfig, items: Sequence[Labelled], thresholds=THRESHOLDS) -> List[Tuple[float, Figures]]:
    """The three figures for one global threshold after another (no per-intent values)."""
    return [(t, score(replace(config, confidence_threshold=t, intent_thresholds={}), items)) for t in thresholds]


def _better(a: Figures, b: Figures) -> bool:
    return (a.automation, a.oos_recall, -a.wrong) > (b.automation, b.oos_recall, -b.wrong)


def choose_global(base: PolicyConfig, items: Sequence[Labelled], target: float) -> PolicyConfig:
    best, best_figures = None, None
    for margin in MARGINS:
        for t in THRESHOLDS:
            config = replace(base, confidence_threshold=t, ambiguity_margin=margin, intent_thresholds={})
            f = score(config, items)
            if f.wrong_answer <= target and (best_figures is None or _better(f, best_figures)):
                best, best_figures = config, f
    if best is None:  # nothing meets the target: the strictest setting
        best = replace(base, confidence_threshold=THRESHOLDS[-1], ambiguity_margin=MARGINS[-1],
                       intent_thresholds={})
    return best


def choose_per_intent(global_config: PolicyConfig, items: Sequence[Labelled], target: float,
                      min_support: int = 15, shrink: float = 0.5) -> PolicyConfig:
    """Per-intent thresholds on top of the global choice (kept only if they fit the target)."""
    budget = target * len(items)
    # right/wrong attributed to the predicted intent, for every candidate threshold
    table: Dict[str, Dict[float, Tuple[int, int]]] = {}
    support: Dict[str, int] = {}
    for item in items:
        if item.parse.intent:
            support[item.parse.intent] = support.get(item.parse.intent, 0) + 1
    tunable = [i for i, n in support.items() if n >= min_support and i not in global_config.routed_intents]
    for t in THRESHOLDS:
        config = replace(global_config, confidence_threshold=t, intent_thresholds={})
        for h, item in zip(handled(config, items), items):
            intent = item.parse.intent
            if intent not in tunable:
                continue
            right, wrong = table.setdefault(intent, {}).get(t, (0, 0))
            table[intent][t] = (right + (h.acted == h.truth), wrong + (h.acted is not None and h.acted != h.truth
                                                                          and h.acted in tunable))

    def pick(lam: float) -> Dict[str, float]:
        return {i: max(THRESHOLDS, key=lambda t: (table[i][t][0] - lam * table[i][t][1], t)) for i in tunable}

    def shrunk(raw: Dict[str, float]) -> Dict[str, float]:
        g = global_config.confidence_threshold
        return {i: round(g + shrink * (t - g), 3) for i, t in raw.items()}

    best = global_config
    best_figures = score(global_config, items)
    for lam in [0.5 * k for k in range(1, 81)]:
        candidate = replace(global_config, intent_thresholds=shrunk(pick(lam)))
        f = score(candidate, items)
        if f.wrong <= budget and _better(f, best_figures):
            best, best_figures = candidate, f
    return best
