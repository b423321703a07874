"""Per-intent thresholds: how the policy applies them and how the server gets them."""

import pytest

from bot.domain import NluParse, Verdict
from bot.evaluation.thresholds import Labelled, choose_global, choose_per_intent, score
from bot.handoff import HandoffPolicy, LearnedThresholds, PolicyConfig
from bot.settings import Settings


def parse(intent, confidence, text="text"):
    return NluParse(text, intent, confidence, [{"name": intent, "confidence": confidence}])


def test_an_intent_threshold_overrides_the_default_for_that_intent_only():
    policy = HandoffPolicy(PolicyConfig(confidence_threshold=0.8, intent_thresholds={"greet": 0.4}))
    assert policy.decide(parse("greet", 0.5), 0).verdict is Verdict.ANSWER
    miss = policy.decide(parse("order_status", 0.5), 0)
    assert miss.verdict is Verdict.REPHRASE and "threshold 0.80" in miss.detail


def test_the_thresholds_file_round_trips(tmp_path):
    path = tmp_path / "t.yml"
    LearnedThresholds(0.55, 0.05, {"greet": 0.4}, 0.02, {"config": "config.yml"}).write(path)
    read = LearnedThresholds.read(path)
    assert (read.default, read.margin, read.intents, read.provenance["config"]) == (0.55, 0.05, {"greet": 0.4},
                                                                                    "config.yml")


def test_a_threshold_outside_zero_to_one_is_refused(tmp_path):
    path = tmp_path / "t.yml"
    path.write_text("default: 1.5\nmargin: 0\n")
    with pytest.raises(ValueError):
        LearnedThresholds.read(path)


def test_the_server_uses_the_learned_file_unless_the_operator_sets_a_threshold(tmp_path, monkeypatch):
    monkeypatch.delenv("BATON_CONFIDENCE_THRESHOLD", raising=False)
    monkeypatch.delenv("BATON_AMBIGUITY_MARGIN", raising=False)
    monkeypatch.setenv("BATON_CONFIG", str(tmp_path / "none.yml"))
    path = tmp_path / "t.yml"
    LearnedThresholds(0.55, 0.05, {"greet": 0.4}).write(path)
    learned = PolicyConfig.from_settings(Settings(handoff_thresholds_path=path))
    assert (learned.confidence_threshold, learned.ambiguity_margin, dict(learned.intent_thresholds)) == (
        0.55, 0.05, {"greet": 0.4})
    explicit = PolicyConfig.from_settings(Settings(handoff_thresholds_path=path, confidence_threshold=0.7))
    assert (explicit.confidence_threshold, explicit.ambiguity_margin, dict(explicit.intent_thresholds)) == (
        0.7, 0.05, {})
    missing = PolicyConfig.from_settings(Settings(handoff_thresholds_path=tmp_path / "absent.yml"))
    assert missing.confidence_threshold == Settings().confidence_threshold and not missing.intent_thresholds


def labelled(truth, intent, confidence):
    return Labelled(truth, parse(intent, confidence))


def test_the_global_choice_is_the_most_automation_within_the_target():
    # Right answers at 0.9, 0.7 and 0.55; a wrong one at 0.6; an out-of-scope message answered at 0.5.
    items = [labelled("a", "a", 0.9), labelled("b", "b", 0.7), labelled("a", "b", 0.6),
             labelled("c", "c", 0.55), labelled("out_of_scope", "a", 0.5)]
    chosen = choose_global(PolicyConfig(ambiguity_margin=0.0), items, target=0.0)
    assert 0.6 < chosen.confidence_threshold <= 0.7
    f = score(chosen, items)
    assert (f.right, f.wrong) == (2, 0)
    lax = choose_global(PolicyConfig(ambiguity_margin=0.0), items, target=0.25)  # one wrong in five allowed
    assert 0.5 < lax.confidence_threshold <= 0.55
    assert (score(lax, items).right, score(lax, items).wrong) == (3, 1)


def test_per_intent_thresholds_let_a_reliable_intent_answer_more():
    # Intent "a" is always right; "b" is right only above 0.8. A single global threshold of 0.8+
    # loses every "a" below it; per intent, "a" can go lower.
    items = ([labelled("a", "a", 0.5 + 0.01 * i) for i in range(20)]
             + [labelled("b", "b", 0.85 + 0.005 * i) for i in range(20)]
             + [labelled("out_of_scope", "b", 0.6 + 0.01 * i) for i in range(20)])
    g = choose_global(PolicyConfig(ambiguity_margin=0.0), items, target=0.0)
    per = choose_per_intent(g, items, target=0.0, min_support=10, shrink=1.0)
    assert score(per, items).wrong == 0
    assert score(per, items).right > score(g, items).right
    assert per.intent_thresholds["a"] < per.intent_thresholds["b"]


def test_an_out_of_scope_prediction_is_a_miss_at_any_confidence():
    policy = HandoffPolicy(PolicyConfig(confidence_threshold=0.5))
    first = policy.decide(parse("out_of_scope", 0.95), 0)
    assert first.verdict is Verdict.REPHRASE and "out of scope" in first.detail
    assert policy.decide(parse("out_of_scope", 0.95), 1).hands_off
