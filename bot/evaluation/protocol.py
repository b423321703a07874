"""One measurement: a system (a Rasa config and how it decides) on one data set.

Baton learns its thresholds by cross-validation on its training data only, then
is trained on all of it and scored on the test set through the live handoff
policy. The plain Rasa baseline answers whatever its FallbackClassifier (0.3)
lets through. For both, a curve shows the three figures for one global threshold
after another on the top intent's confidence.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from bot.domain import NluParse
from bot.evaluation.choose import Choice, choose
from bot.evaluation.datasets import Example
from bot.evaluation.metrics import Figures, Handled, IntentRow, figures, per_intent
from bot.evaluation.runs import Job, RunResult, run_jobs
from bot.evaluation.table import ParseTable
from bot.evaluation.thresholds import Labelled, handled
from bot.handoff import FALLBACK_INTENT, PolicyConfig

CURVE_THRESHOLDS = [round(0.05 * i, 2) for i in range(0, 20)] + [0.97, 0.99]

# (directory) -> [(training file, held-out examples)] for the cross-validation folds
FoldMaker = Callable[[Path], List[Tuple[Path, List[Example]]]]


@dataclass(frozen=True)
class System:
    name: str
    config: Path
    learns_thresholds: bool  # Baton: learned by cross-validation; baseline: Rasa's own fallback


@dataclass(frozen=True)
class DataSet:
    name: str
    train: Path                      # a Rasa NLU file
    test: List[Example]
    folds: FoldMaker
    routed_intents: Tuple[str, ...] = ("request_human", "complaint")
    human_request_intents: Tuple[str, ...] = ("request_human",)


@dataclass
class Measurement:
    system: str
    dataset: str
    policy: PolicyConfig
    overall: Figures
    intents: List[IntentRow]
    curve: List[Tuple[float, Figures]]
    train_seconds: float
    parse_ms_median: float
    parse_ms_p95: float
    choice: Optional[Choice] = None
    handled: List[Handled] = field(default_factory=list)
    compute_seconds: float = 0.0  # every training and parsing job behind this measurement (wall time)
    cpu_seconds: float = 0.0      # the same in CPU time, where the jobs recorded it (0: not recorded)


def without_fallback(parse: NluParse) -> NluParse:
    """The parse as if no FallbackClassifier had run: its best real intent on top."""
    ranking = [r for r in parse.ranking if r["name"] != FALLBACK_INTENT]
    if not ranking:
        return replace(parse, intent=None, confidence=0.0, ranking=[])
    return replace(parse, intent=ranking[0]["name"], confidence=ranking[0]["confidence"], ranking=ranking)


def base_policy(data: DataSet) -> PolicyConfig:
    human = data.human_request_intents
    return PolicyConfig(confidence_threshold=0.0, ambiguity_margin=0.0, max_consecutive_misses=2,
                        human_request_intents=human,
                        always_human_intents=tuple(i for i in data.routed_intents if i not in human))


def measure(system: System, data: DataSet, cache: Path, target: float, nice: int = 0) -> Measurement:
    base = base_policy(data)
    with tempfile.TemporaryDirectory(prefix="baton-eval-") as tmp:
        folds = data.folds(Path(tmp)) if system.learns_thresholds else []
        jobs = [Job(system.config, train_file, [t for t, _ in held]) for train_file, held in folds]
        jobs.append(Job(system.config, data.train, [t for t, _ in data.test]))
        results = run_jobs(jobs, cache, nice=nice)
    final: RunResult = results[-1]
    test = [Labelled(truth, parse) for (_, truth), parse in zip(data.test, final.parses)]
    choice = None
    if system.learns_thresholds:
        validation = [[Labelled(truth, parse) for (_, truth), parse in zip(held, result.parses)]
                      for (_, held), result in zip(folds, results[:-1])]
        choice = choose(base, validation, target)
        policy = choice.config
    else:
        policy = base
    items = handled(policy, test)
    stripped = ParseTable([Labelled(i.truth, without_fallback(i.parse)) for i in test])
    curve = [(t, stripped.figures(replace(policy, confidence_threshold=t, intent_thresholds={})))
             for t in CURVE_THRESHOLDS]
    return Measurement(system.name, data.name, policy, figures(items, policy.routed_intents),
                       per_intent(items, policy.routed_intents), curve, final.train_seconds,
                       final.parse_ms_median, final.parse_ms_p95, choice, items,
                       sum(r.job_seconds for r in results),
                       sum(r.cpu_seconds for r in results) if all(r.cpu_seconds for r in results) else 0.0)


def mean_figures(parts: Sequence[Figures]) -> Dict[str, float]:
    """Average of the three rates over seeds (each seed weighs the same)."""
    n = len(parts)
    return {"automation": sum(p.automation for p in parts) / n,
            "wrong_answer": sum(p.wrong_answer for p in parts) / n,
            "oos_recall": sum(p.oos_recall for p in parts) / n}


