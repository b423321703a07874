"""Evaluating one trained model on a labelled test file, for the workbench and `baton evaluate --model`.

The model parses every test message in a child process (Rasa leaks memory across model loads,
and the server must not load a second model just to score one); the figures are computed here
with the arithmetic of `bot/evaluation/metrics.py` through the live handoff policy
(`bot/evaluation/replay.py`): the three figures, per-intent precision/recall/F1, the commonest
confusions, a confidence histogram, and the handoff curve across thresholds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

from bot.domain import NluParse
from bot.evaluation.metrics import OUT_OF_SCOPE, Handled, figures
from bot.evaluation.protocol import CURVE_THRESHOLDS
from bot.evaluation.replay import acted_on
from bot.handoff import HandoffPolicy, PolicyConfig

BINS = [round(0.1 * i, 1) for i in range(11)]
DEFAULT_TARGET = 0.02


def parse_with_model(model: Path, texts: Sequence[str]) -> List[NluParse]:
    """Parses of `texts` by the model file, from a child process."""
    with tempfile.TemporaryDirectory(prefix="baton-eval-") as tmp:
        spec, out = Path(tmp) / "texts.json", Path(tmp) / "parses.json"
        spec.write_text(json.dumps(list(texts)))
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
        subprocess.run([sys.executable, "-m", "bot.model_evaluation", str(model), str(spec), str(out)], check=True,
                       env=env, capture_output=True, cwd=str(Path(__file__).resolve().parent.parent))
        return [NluParse.from_rasa(p) for p in json.loads(out.read_text())]


def _prf(pairs: Sequence[Tuple[str, str]]) -> List[Dict[str, Any]]:
    truths = Counter(t for t, _ in pairs)
    predicted = Counter(p for _, p in pairs)
    right = Counter(t for t, p in pairs if t == p)
    rows = []
    for intent in sorted(set(truths) | set(predicted)):
        precision = right[intent] / predicted[intent] if predicted[intent] else 0.0
        recall = right[intent] / truths[intent] if truths[intent] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append({"intent": intent, "precision": round(precision, 4), "recall": round(recall, 4),
                     "f1": round(f1, 4), "support": truths[intent]})
    return rows


def score(examples: Sequence[Tuple[str, str]], parses: Sequence[NluParse], policy: PolicyConfig,
          target_wrong_answer: float = DEFAULT_TARGET, test_file: str = "") -> Dict[str, Any]:
    """The evaluation JSON the console shows, from (text, truth) pairs and the model's parses."""
    routed = policy.routed_intents
    live = HandoffPolicy(policy)
    handled = [Handled(truth, acted_on(live, parse)) for (_, truth), parse in zip(examples, parses)]
    top = [(truth, parse.intent or "") for (_, truth), parse in zip(examples, parses)]
    correct_hist = [0] * 10
    wrong_hist = [0] * 10
    for (truth, predicted), parse in zip(top, parses):
        index = min(int(parse.confidence * 10), 9)
        (correct_hist if truth == predicted else wrong_hist)[index] += 1
    curve = []
    for threshold in CURVE_THRESHOLDS:
        config = dataclasses.replace(policy, confidence_threshold=threshold, intent_thresholds={})
        at = HandoffPolicy(config)
        f = figures([Handled(truth, acted_on(at, parse)) for (_, truth), parse in zip(examples, parses)], routed)
        curve.append({"threshold": threshold, "automation": round(f.automation, 4),
                      "wrong_answer": round(f.wrong_answer, 4), "oos_recall": round(f.oos_recall, 4)})
    safe = [p for p in curve if p["wrong_answer"] <= target_wrong_answer]
    chosen = max(safe, key=lambda p: (p["automation"], -p["threshold"])) if safe else None
    overall = figures(handled, routed)
    confusions = Counter((t, p) for t, p in top if t != p)
    return {
        "test_set": {"file": test_file, "messages": len(examples), "in_scope": overall.in_scope,
                     "out_of_scope": overall.out_of_scope},
        "overall": {"automation": round(overall.automation, 4), "wrong_answer": round(overall.wrong_answer, 4),
                    "oos_recall": round(overall.oos_recall, 4),
                    "accuracy": round(sum(t == p for t, p in top) / len(top), 4) if top else 0.0},
        "intents": _prf(top),
        "confusions": [{"truth": t, "predicted": p, "count": n} for (t, p), n in confusions.most_common(15)],
        "histogram": {"bins": BINS, "correct": correct_hist, "wrong": wrong_hist},
        "curve": curve,
        "chosen": {"threshold": chosen["threshold"] if chosen else None, "target_wrong_answer": target_wrong_answer},
        "out_of_scope_label": OUT_OF_SCOPE,
    }


def evaluate_model(model: Path, test_file: Path, policy: PolicyConfig,
                   target_wrong_answer: float = DEFAULT_TARGET) -> Dict[str, Any]:
    from bot.evaluation.datasets import load_nlu

    examples = [(text, intent) for text, intent in load_nlu(test_file) if text and intent]
    if not examples:
        raise ValueError(f"{test_file.name} has no labelled examples")
    parses = parse_with_model(model, [text for text, _ in examples])
    return score(examples, parses, policy, target_wrong_answer, test_file.name)


def _child(model: str, spec: str, out: str) -> None:
    """In the child process: load the model, parse every text, write Rasa's parses as JSON."""
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    from bot.engine import quiet_rasa_logging

    quiet_rasa_logging()
    logging.getLogger("rasa").setLevel(logging.ERROR)
    from rasa.core.agent import Agent

    agent = Agent.load(model)

    async def parse_all() -> List[Dict[str, Any]]:
        parses = []
        for text in json.loads(Path(spec).read_text()):
            parse = await agent.parse_message(text)
            parses.append({"text": text, "intent": parse.get("intent"),
                           "intent_ranking": (parse.get("intent_ranking") or [])[:10],
                           "entities": parse.get("entities") or []})
        return parses

    Path(out).write_text(json.dumps(asyncio.run(parse_all())))


if __name__ == "__main__":
    _child(*sys.argv[1:4])
