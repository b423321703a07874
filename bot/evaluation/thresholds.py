"""Choosing the handoff thresholds from held-out parses, for a target wrong-answer rate.

First one global threshold and margin (the most automation whose wrong-answer
rate stays within the target). Then, per intent, thresholds that trade where it
pays: a message's fate depends only on its own predicted intent's threshold, so
the problem separates by intent; for a price `lam` on a wrong answer each intent
takes the threshold that maximises right - lam * wrong, and `lam` is searched for
the most automation within the target. Intents with too few held-out predictions
keep the global threshold, and the per-intent values are shrunk towards it,
because a threshold fitted on a dozen messages is mostly noise.

Every candidate is scored through the live policy's logic on arrays (`table.ParseTable`),
so the search takes milliseconds even on thousands of held-out parses.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np

from bot.domain import NluParse
from bot.evaluation.metrics import Figures, Handled
from bot.evaluation.replay import acted_on
from bot.evaluation.table import ParseTable
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


Items = Union[Sequence[Labelled], ParseTable]


def table_of(items: Items) -> ParseTable:
    return items if isinstance(items, ParseTable) else ParseTable(items)


def score(config: PolicyConfig, items: Items) -> Figures:
    """The three figures of the live policy under `config` (the same as counting `handled`)."""
    return table_of(items).figures(config)


def curve(config: PolicyConfig, items: Items, thresholds=THRESHOLDS) -> List[Tuple[float, Figures]]:
    """The three figures for one global threshold after another (no per-intent values)."""
    table = table_of(items)
    return [(t, table.figures(replace(config, confidence_threshold=t, intent_thresholds={}))) for t in thresholds]


def _better(a: Figures, b: Figures) -> bool:
    return (a.automation, a.oos_recall, -a.wrong) > (b.automation, b.oos_recall, -b.wrong)


def choose_global(base: PolicyConfig, items: Items, target: float) -> PolicyConfig:
    table = table_of(items)
    best, best_figures = None, None
    for margin in MARGINS:
        for t in THRESHOLDS:
            config = replace(base, confidence_threshold=t, ambiguity_margin=margin, intent_thresholds={})
            f = table.figures(config)
            if f.wrong_answer <= target and (best_figures is None or _better(f, best_figures)):
                best, best_figures = config, f
    if best is None:  # nothing meets the target: the strictest setting
        best = replace(base, confidence_threshold=THRESHOLDS[-1], ambiguity_margin=MARGINS[-1],
                       intent_thresholds={})
    return best


def choose_per_intent(global_config: PolicyConfig, items: Items, target: float,
                      min_support: int = 15, shrink: float = 0.5) -> PolicyConfig:
    """Per-intent thresholds on top of the global choice (kept only if they fit the target)."""
    table = table_of(items)
    budget = target * table.size
    support = np.bincount(table.intent[table.intent >= 0], minlength=len(table.codes))
    names = {code: name for name, code in table.codes.items()}
    tunable = [names[c] for c in np.flatnonzero(support >= min_support)
               if names[c] not in global_config.routed_intents]
    codes = np.array([table.codes[i] for i in tunable], dtype=np.int64)
    # right/wrong attributed to the predicted intent, for every candidate threshold: (intent, threshold)
    right = np.zeros((len(tunable), len(THRESHOLDS)))
    wrong = np.zeros((len(tunable), len(THRESHOLDS)))
    for k, t in enumerate(THRESHOLDS):
        r, w = table.right_wrong_by_intent(replace(global_config, confidence_threshold=t, intent_thresholds={}),
                                           tunable)
        right[:, k], wrong[:, k] = r[codes], w[codes]
    last = len(THRESHOLDS) - 1

    def pick(lam: float) -> Dict[str, float]:
        # the best value of right - lam * wrong; among equals the highest threshold
        value = right - lam * wrong
        return {i: THRESHOLDS[last - int(np.argmax(value[n, ::-1]))] for n, i in enumerate(tunable)}

    def shrunk(raw: Dict[str, float]) -> Dict[str, float]:
        g = global_config.confidence_threshold
        return {i: round(g + shrink * (t - g), 3) for i, t in raw.items()}

    best = global_config
    best_figures = table.figures(global_config)
    for lam in [0.5 * k for k in range(1, 81)]:
        candidate = replace(global_config, intent_thresholds=shrunk(pick(lam)))
        f = table.figures(candidate)
        if f.wrong <= budget and _better(f, best_figures):
            best, best_figures = candidate, f
    return best
