"""`baton evaluate`: held-out intent accuracy and the curve the handoff thresholds come from.

Splits data/nlu.yml per intent (seeded), trains an NLU model on the training part,
parses the held-out part and sweeps the confidence threshold and ambiguity
margin: for each, how many messages the bot would answer and how many of those
answers would be wrong. Writes report.md, curve.json and curve.svg.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Tuple

THRESHOLDS = [round(0.05 * i, 2) for i in range(0, 20)]
MARGINS = [0.0, 0.05, 0.1, 0.15, 0.2, 0.3]
MAX_WRONG_ANSWER_RATE = 0.03  # of the messages the bot answers, at most 3% wrongly


@dataclass
class Prediction:
    text: str
    truth: str
    intent: str
    confidence: float
    margin: float


@dataclass
class CurvePoint:
    threshold: float
    margin: float
    answered: float        # share of held-out messages the bot answers
    wrong_answered: float  # share of answered messages with the wrong intent
    accuracy_answered: float


def curve(predictions: List[Prediction]) -> List[CurvePoint]:
    points = []
    total = len(predictions)
    for margin in MARGINS:
        for threshold in THRESHOLDS:
            answered = [p for p in predictions if p.intent != "nlu_fallback"
                        and p.confidence >= threshold and p.margin >= margin]
            wrong = sum(1 for p in answered if p.intent != p.truth)
            n = len(answered)
            points.append(CurvePoint(threshold, margin, round(n / total, 4),
                                     round(wrong / n, 4) if n else 0.0, round(1 - wrong / n, 4) if n else 1.0))
    return points


def choose(points: List[CurvePoint]) -> CurvePoint:
    """Answer as much as possible while keeping wrong answers under the bound."""
    safe = [p for p in points if p.wrong_answered <= MAX_WRONG_ANSWER_RATE and p.answered > 0]
    if not safe:
        return max(points, key=lambda p: (p.accuracy_answered, p.answered))
    return max(safe, key=lambda p: (p.answered, -p.threshold, -p.margin))


def _split(nlu_path: Path, holdout: float, seed: int):
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(nlu_path))
    return data.train_test_split(train_frac=1 - holdout, random_seed=seed)


async def _predict(model: Path, examples: List[Tuple[str, str]]) -> List[Prediction]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    out = []
    for text, truth in examples:
        parse = await agent.parse_message(text)
        ranking = [r for r in parse.get("intent_ranking", []) if r["name"] != "nlu_fallback"]
        top = ranking[0] if ranking else {"name": "nlu_fallback", "confidence": 0.0}
        margin = top["confidence"] - (ranking[1]["confidence"] if len(ranking) > 1 else 0.0)
        out.append(Prediction(text, truth, top["name"], float(top["confidence"]), float(margin)))
    return out


def _svg(points: List[CurvePoint], chosen: CurvePoint) -> str:
    w, h, pad = 560, 320, 44
    x = lambda t: pad + t * (w - 2 * pad) / 0.95
    y = lambda v: h - pad - v * (h - 2 * pad)
    line = lambda pts, key: " ".join(f"{x(p.threshold):.1f},{y(getattr(p, key)):.1f}" for p in pts)
    at_margin = [p for p in points if p.margin == chosen.margin]
    grid = "".join(f'<line x1="{pad}" x2="{w - pad}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>'
                   f'<text x="{pad - 6}" y="{y(v) + 4:.1f}" font-size="11" text-anchor="end">{v:.0%}</text>'
                   for v in (0, 0.25, 0.5, 0.75, 1.0))
    ticks = "".join(f'<text x="{x(t):.1f}" y="{h - pad + 16}" font-size="11" text-anchor="middle">{t:.1f}</text>'
                    for t in (0, 0.2, 0.4, 0.6, 0.8))
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>{grid}{ticks}
<text x="{w / 2}" y="{h - 8}" font-size="12" text-anchor="middle">confidence threshold (ambiguity margin {chosen.margin})</text>
<polyline fill="none" stroke="#2563eb" stroke-width="2" points="{line(at_margin, 'answered')}"/>
<polyline fill="none" stroke="#dc2626" stroke-width="2" points="{line(at_margin, 'wrong_answered')}"/>
<line x1="{x(chosen.threshold):.1f}" x2="{x(chosen.threshold):.1f}" y1="{pad}" y2="{h - pad}" stroke="#16a34a" stroke-dasharray="4 3"/>
<text x="{x(chosen.threshold) + 4:.1f}" y="{pad + 12}" font-size="11" fill="#16a34a">chosen {chosen.threshold}</text>
<text x="{w - pad}" y="{pad - 18}" font-size="12" text-anchor="end" fill="#2563eb">answered by the bot</text>
<text x="{w - pad}" y="{pad - 4}" font-size="12" text-anchor="end" fill="#dc2626">wrong among answered</text>
</svg>"""


def evaluate(data_dir: Path, out_dir: Path, config_name: str = "config-fast.yml", seed: int = 7,
             holdout: float = 0.2) -> Dict:
    from bot.training import train

    out_dir.mkdir(parents=True, exist_ok=True)
    train_part, test_part = _split(data_dir / "nlu.yml", holdout, seed)
    examples = [(m.get("text"), m.get("intent")) for m in test_part.intent_examples]
    with tempfile.TemporaryDirectory(prefix="baton-eval-") as tmp:
        nlu_train = Path(tmp) / "train.yml"
        train_part.persist_nlu(str(nlu_train))
        model = train(data_dir, Path(tmp) / "model.tar.gz", config_name, nlu_only=True, nlu_file=nlu_train)
        predictions = asyncio.run(_predict(model, examples))
    accuracy = sum(p.intent == p.truth for p in predictions) / len(predictions)
    points = curve(predictions)
    chosen = choose(points)
    confusions: Dict[str, int] = {}
    for p in predictions:
        if p.intent != p.truth:
            key = f"{p.truth} → {p.intent}"
            confusions[key] = confusions.get(key, 0) + 1
    report = {"config": config_name, "seed": seed, "holdout": holdout, "train_examples":
              len(train_part.intent_examples), "test_examples": len(predictions),
              "intent_accuracy": round(accuracy, 4), "chosen": asdict(chosen),
              "max_wrong_answer_rate": MAX_WRONG_ANSWER_RATE,
              "confusions": dict(sorted(confusions.items(), key=lambda kv: -kv[1])),
              "curve": [asdict(p) for p in points]}
    (out_dir / "curve.json").write_text(json.dumps(report, indent=2))
    (out_dir / "curve.svg").write_text(_svg(points, chosen))
    rows = "\n".join(f"| {p.threshold:.2f} | {p.answered:.1%} | {p.wrong_answered:.1%} |"
                     for p in points if p.margin == chosen.margin)
    (out_dir / "report.md").write_text(f"""# Handoff evaluation ({config_name}, seed {seed})

Held-out split: {len(predictions)} examples ({holdout:.0%} per intent), trained on {len(train_part.intent_examples)}.

- Intent accuracy on the held-out split: **{accuracy:.1%}**
- Chosen: confidence threshold **{chosen.threshold}**, ambiguity margin **{chosen.margin}** — the bot answers
  {chosen.answered:.1%} of held-out messages, {chosen.wrong_answered:.1%} of its answers wrong
  (bound: {MAX_WRONG_ANSWER_RATE:.0%}).

![curve](curve.svg)

| threshold | answered | wrong among answered |
|---|---|---|
{rows}

Most frequent confusions: {', '.join(f'{k} ({v})' for k, v in list(report['confusions'].items())[:8]) or 'none'}

Reproduce with `baton evaluate --config {config_name} --seed {seed}`.
""")
    print(f"intent accuracy {accuracy:.1%} on {len(predictions)} held-out examples; "
          f"chosen threshold {chosen.threshold}, margin {chosen.margin} "
          f"(answers {chosen.answered:.1%}, {chosen.wrong_answered:.1%} wrong); report in {out_dir}")
    return report
