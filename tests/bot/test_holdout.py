"""Holding out a seeded share of each intent's examples, and the all-knowing trainer's verdicts."""

import pytest

from bot.evaluation.holdout import HeldOut, Verdict, batches, example_lines, hold_out, trainer_verdict
from bot.settings import PROJECT_ROOT

NLU = """version: "3.1"

# a comment that must survive
nlu:
- regex: order_id
  examples: |
    - \\d{4,6}

- intent: greet
  examples: |
    - hi
    - hello
    - hey
    - good morning
    - howdy
    - hiya

- intent: order_status
  examples: |
    - where is order [12345](order_id)
    - status of my order
    - has my order shipped

- intent: lonely
  examples: |
    - the only one

- synonym: parcel
  examples: |
    - package
"""


def counts(text):
    return {intent: len(lines) for intent, lines in example_lines(text.splitlines(keepends=True)).items()}


def test_only_intent_examples_are_found():
    assert counts(NLU) == {"greet": 6, "order_status": 3, "lonely": 1}


def test_a_third_of_each_intent_is_held_out_and_every_intent_keeps_one():
    kept, held = hold_out(NLU, 1 / 3, seed=1)
    assert counts(kept) == {"greet": 4, "order_status": 2, "lonely": 1}
    assert sorted(h.intent for h in held) == ["greet", "greet", "order_status"]
    # Nothing but the held-out lines changed: the regex, the synonym and the comment stay.
    removed = [line for line in NLU.splitlines() if line not in kept.splitlines()]
    assert sorted(line.strip()[2:] for line in removed) == sorted(h.example for h in held)
    assert "# a comment that must survive" in kept and "- \\d{4,6}" in kept and "- package" in kept


def test_the_split_is_seeded():
    assert hold_out(NLU, 1 / 3, seed=1) == hold_out(NLU, 1 / 3, seed=1)
    choices = {tuple(h.example for h in hold_out(NLU, 0.5, seed=s)[1]) for s in range(1, 12)}
    assert len(choices) > 1


def test_a_large_share_still_leaves_one_example_per_intent():
    kept, held = hold_out(NLU, 0.99, seed=3)
    assert counts(kept) == {"greet": 1, "order_status": 1, "lonely": 1}
    assert len(held) == 7
    with pytest.raises(ValueError):
        hold_out(NLU, 1.0, seed=3)


def test_the_customer_types_the_text_without_entity_markup():
    assert HeldOut("order_status", "where is order [12345](order_id)").text == "where is order 12345"


def test_on_the_demo_data_every_intent_keeps_two_thirds():
    text = (PROJECT_ROOT / "data" / "nlu.yml").read_text()
    before = counts(text)
    kept, held = hold_out(text, 1 / 3, seed=1)
    after = counts(kept)
    assert set(after) == set(before)
    for intent, n in before.items():
        assert after[intent] + sum(h.intent == intent for h in held) == n
        assert abs(after[intent] - 2 * n / 3) <= 1 and after[intent] >= 1


def test_the_trainer_confirms_relabels_or_marks_out_of_scope():
    assert trainer_verdict("greet", "greet") == Verdict("confirm", "greet")
    assert trainer_verdict("goodbye", "greet") == Verdict("relabel", "greet")
    assert trainer_verdict(None, "greet") == Verdict("relabel", "greet")
    assert trainer_verdict("greet", "out_of_scope") == Verdict("out_of_scope")
    assert Verdict("confirm", "greet").body([3], "v1") == {"message_ids": [3], "action": "confirm", "version": "v1"}
    assert Verdict("relabel", "greet").body([3], None)["intent"] == "greet"


def test_bulk_batches_share_one_verdict_and_respect_the_size_limit():
    verdicts = [(i, Verdict("confirm", "greet")) for i in range(5)] + [(9, Verdict("confirm", "thanks")),
                                                                        (10, Verdict("out_of_scope"))]
    out = batches(verdicts, size=2)
    assert [(v.intent, ids) for v, ids in out] == [("greet", [0, 1]), ("greet", [2, 3]), ("greet", [4]),
                                                   ("thanks", [9]), (None, [10])]
