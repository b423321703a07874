"""The array-based policy scoring gives exactly what the live HandoffPolicy gives, parse by parse."""

import random
from dataclasses import replace

from bot.domain import NluParse
from bot.evaluation.metrics import figures
from bot.evaluation.table import ParseTable
from bot.evaluation.thresholds import THRESHOLDS, Labelled, choose_global, choose_per_intent, handled
from bot.handoff import FALLBACK_INTENT, PolicyConfig

INTENTS = ["greet", "order_status", "refund", "request_human", "complaint", "out_of_scope", FALLBACK_INTENT]
TRUTHS = ["greet", "order_status", "refund", "request_human", "complaint", "out_of_scope"]


def random_parse(rng: random.Random) -> NluParse:
    roll = rng.random()
    if roll < 0.05:
        return NluParse("", None, 0.0, [])
    names = rng.sample(INTENTS, rng.randint(1, 4))
    # Confidences on the thresholds' own grid half the time: ties must fall the policy's way.
    scores = sorted((rng.choice(THRESHOLDS) if rng.random() < 0.5 else rng.random() for _ in names), reverse=True)
    ranking = [{"name": n, "confidence": s} for n, s in zip(names, scores)]
    text = rng.choice(["where is my order", "I will call my lawyer", "hello", "chargeback now", "hm"])
    return NluParse(text, names[0], scores[0], ranking)


def reference(config, items):
    return figures(handled(config, items), config.routed_intents)


def test_the_table_scores_every_setting_as_the_live_policy_does():
    rng = random.Random(3)
    items = [Labelled(rng.choice(TRUTHS), random_parse(rng)) for _ in range(400)]
    table = ParseTable(items)
    base = PolicyConfig(max_consecutive_misses=2, business_rule_keywords=("chargeback", "lawyer"))
    for _ in range(300):
        config = replace(base, confidence_threshold=rng.choice(THRESHOLDS + [rng.random()]),
                         ambiguity_margin=rng.choice([0.0, 0.05, 0.1, 0.2, rng.random() / 3]),
                         intent_thresholds={i: rng.random() for i in rng.sample(INTENTS, rng.randint(0, 3))})
        assert table.figures(config) == reference(config, items), config
        acted = table.acted(config)
        assert [item.parse.intent if a else None for item, a in zip(items, acted)] == [
            h.acted for h in handled(config, items)]


def test_without_keywords_or_routing_the_table_still_agrees():
    rng = random.Random(11)
    items = [Labelled(rng.choice(TRUTHS), random_parse(rng)) for _ in range(200)]
    config = PolicyConfig(confidence_threshold=0.4, ambiguity_margin=0.0, human_request_intents=(),
                          always_human_intents=(), business_rule_keywords=())
    assert ParseTable(items).figures(config) == reference(config, items)


def _python_choose_per_intent(global_config, items, target, min_support=15, shrink=0.5):
    """The loop the table replaced, kept here as the reference."""
    from bot.evaluation.thresholds import _better

    def score(c):
        return reference(c, items)

    budget = target * len(items)
    table, support = {}, {}
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
            table[intent][t] = (right + (h.acted == h.truth),
                                wrong + (h.acted is not None and h.acted != h.truth and h.acted in tunable))

    def pick(lam):
        return {i: max(THRESHOLDS, key=lambda t: (table[i][t][0] - lam * table[i][t][1], t)) for i in tunable}

    def shrunk(raw):
        g = global_config.confidence_threshold
        return {i: round(g + shrink * (t - g), 3) for i, t in raw.items()}

    best, best_figures = global_config, score(global_config)
    for lam in [0.5 * k for k in range(1, 81)]:
        candidate = replace(global_config, intent_thresholds=shrunk(pick(lam)))
        f = score(candidate)
        if f.wrong <= budget and _better(f, best_figures):
            best, best_figures = candidate, f
    return best


RELIABLE = {"greet": 0.98, "order_status": 0.5, "refund": 0.8}


def truth_of(rng: random.Random, parse: NluParse) -> str:
    """Some intents are right more often than others, and more so when confident: per-intent thresholds pay."""
    if parse.intent in RELIABLE and rng.random() < RELIABLE[parse.intent] * (0.3 + parse.confidence):
        return parse.intent
    return rng.choice(TRUTHS)


def test_the_threshold_choice_is_the_one_the_python_loop_made():
    rng = random.Random(5)
    parses = [random_parse(rng) for _ in range(600)]
    items = [Labelled(truth_of(rng, p), p) for p in parses]
    chosen_per_intent = 0
    for target in (0.0, 0.02, 0.05, 0.1):
        g = choose_global(PolicyConfig(), items, target)
        per = choose_per_intent(g, items, target, min_support=10)
        expected = _python_choose_per_intent(g, items, target, min_support=10)
        assert (per.confidence_threshold, per.ambiguity_margin, dict(per.intent_thresholds)) == (
            expected.confidence_threshold, expected.ambiguity_margin, dict(expected.intent_thresholds))
        chosen_per_intent += bool(per.intent_thresholds)
    assert chosen_per_intent >= 2  # the comparison covered real per-intent choices, not only "none"
