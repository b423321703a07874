"""The workbench's evaluation of one model, on a hand-made case (no model needed)."""

from __future__ import annotations

from bot.domain import NluParse
from bot.handoff import PolicyConfig
from bot.model_evaluation import score


def parse(intent: str, confidence: float) -> NluParse:
    ranking = [{"name": intent, "confidence": confidence}, {"name": "zzz", "confidence": 1 - confidence}]
    return NluParse(text="x", intent=intent, confidence=confidence, ranking=ranking)


def test_figures_confusions_histogram_and_curve():
    examples = [("a", "greet"), ("b", "greet"), ("c", "goodbye"), ("d", "out_of_scope"), ("e", "goodbye")]
    parses = [parse("greet", 0.95), parse("greet", 0.55), parse("greet", 0.92), parse("goodbye", 0.81),
              parse("goodbye", 0.97)]
    result = score(examples, parses, PolicyConfig(confidence_threshold=0.9, ambiguity_margin=0.0),
                   target_wrong_answer=0.2, test_file="t.yml")
    # At 0.9: greet@0.95 right, greet@0.55 deferred, greet@0.92 wrong, oos@0.81 deferred, goodbye@0.97 right.
    assert result["overall"] == {"automation": 0.5, "wrong_answer": 0.2, "oos_recall": 1.0, "accuracy": 0.6}
    assert result["test_set"] == {"file": "t.yml", "messages": 5, "in_scope": 4, "out_of_scope": 1}
    greet = next(r for r in result["intents"] if r["intent"] == "greet")
    assert greet == {"intent": "greet", "precision": round(2 / 3, 4), "recall": 1.0, "f1": 0.8, "support": 2}
    assert result["confusions"][0] == {"truth": "goodbye", "predicted": "greet", "count": 1}
    assert sum(result["histogram"]["correct"]) == 3 and sum(result["histogram"]["wrong"]) == 2
    assert result["histogram"]["wrong"][8] == 1 and result["histogram"]["wrong"][9] == 1
    by_threshold = {p["threshold"]: p for p in result["curve"]}
    assert by_threshold[0.0]["wrong_answer"] == 0.4 and by_threshold[0.0]["automation"] == 0.75
    assert by_threshold[0.95]["wrong_answer"] == 0.0 and by_threshold[0.95]["automation"] == 0.5
    assert result["chosen"]["threshold"] is not None and result["chosen"]["target_wrong_answer"] == 0.2
