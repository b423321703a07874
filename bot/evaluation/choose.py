"""Which thresholds the live policy should use: global, or per intent where that helps.

"Helps" is itself cross-validated: per-intent thresholds are fitted on all folds
but one and scored on the remaining one, in turn, and kept only when that beats
a global threshold chosen the same way within the target wrong-answer rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence

from bot.evaluation.metrics import Figures
from bot.evaluation.table import ParseTable
from bot.evaluation.thresholds import Labelled, choose_global, choose_per_intent, score
from bot.handoff import PolicyConfig


@dataclass(frozen=True)
class Choice:
    config: PolicyConfig
    per_intent_kept: bool
    crossval_global: Figures
    crossval_per_intent: Figures


def _sum(parts: Sequence[Figures]) -> Figures:
    return Figures(*(sum(getattr(p, f) for p in parts)
                     for f in ("in_scope", "out_of_scope", "right", "wrong", "oos_caught")))


def choose(base: PolicyConfig, folds: Sequence[Sequence[Labelled]], target: float) -> Choice:
    everything: List[Labelled] = [item for fold in folds for item in fold]
    global_parts, per_intent_parts = [], []
    for k, held in enumerate(folds):
        rest = ParseTable([item for j, fold in enumerate(folds) if j != k for item in fold])
        held_table = ParseTable(held)
        g = choose_global(base, rest, target)
        global_parts.append(score(g, held_table))
        per_intent_parts.append(score(choose_per_intent(g, rest, target), held_table))
    cv_global, cv_per_intent = _sum(global_parts), _sum(per_intent_parts)
    table = ParseTable(everything)
    chosen = choose_global(base, table, target)
    keep = (cv_per_intent.wrong_answer <= max(target, cv_global.wrong_answer)
            and cv_per_intent.automation > cv_global.automation)
    if keep:
        chosen = choose_per_intent(chosen, table, target)
    return Choice(chosen, keep, cv_global, cv_per_intent)


def thresholds_summary(config: PolicyConfig) -> Dict[str, float]:
    return {"default": config.confidence_threshold, "margin": config.ambiguity_margin,
            **{f"intent:{k}": v for k, v in sorted(config.intent_thresholds.items())}}
