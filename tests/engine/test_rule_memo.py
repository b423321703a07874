"""The remembered rule search gives RulePolicy's own answers.

Rasa's side: an untouched Agent; Baton's side: a second Agent on the same model with the memo
installed. Every rule and story in data/ is replayed event by event, twice (the second pass
answers from the memo); after each event both policies are asked both questions (with the text,
with the intent) and for a whole prediction.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from rasa.core.policies.rule_policy import RULES_NOT_IN_STORIES

from bot import rule_memo
from tests.engine.conftest import load_agent
from tests.engine.test_dialogue_fast_path import after_each_event, fresh_tracker


def rule_policy(agent) -> Any:
    from rasa.core.policies.rule_policy import RulePolicy

    runner = agent.processor.graph_runner
    nodes = getattr(runner, "inner", runner)._instantiated_nodes
    found = [n._component for n in nodes.values() if type(getattr(n, "_component", None)) is RulePolicy]
    assert len(found) == 1
    return found[0]


@pytest.fixture(scope="module")
def policies(ted_model_path):
    rasas, ours = load_agent(ted_model_path), load_agent(ted_model_path)
    memos = rule_memo.install(ours.processor)
    assert len(memos) == 1
    assert rule_memo.install(ours.processor) == [], "installing twice must not wrap the memo in another"
    return rule_policy(rasas), rule_policy(ours), memos[0], rasas.domain, rasas


PAST_ANY_RULE_SEEN: list = []


def same_answers(theirs, mine, memo, domain, tracker, where: str) -> None:
    for use_text in (True, False):
        expected = theirs._find_action_from_rules(tracker.copy(), domain, use_text)
        got = memo.find(tracker.copy(), domain, use_text)
        if got[1] == rule_memo.PAST_ANY_RULE:
            PAST_ANY_RULE_SEEN.append(where)
            # Rasa named the situation by the whole conversation: too long to be a hidden rule's key.
            assert expected[1] not in theirs.lookup.get(RULES_NOT_IN_STORIES, []), where
            assert len(json.loads(expected[1])) > memo.hidden_reach, where
            expected = (expected[0], got[1], expected[2])
        assert got == expected, f"{where} (text: {use_text})"
    expected, _ = theirs._predict(tracker.copy(), domain)
    got, _ = mine._predict(tracker.copy(), domain)
    assert got.probabilities == expected.probabilities, where
    assert got.events == expected.events, where
    assert got.is_no_user_prediction == expected.is_no_user_prediction, where
    assert got.hide_rule_turn == expected.hide_rule_turn, where


def test_every_rule_and_story_gets_rasas_answers_first_from_the_search_then_from_the_memo(policies, tmp_path):
    theirs, mine, memo, domain, _ = policies
    checked = 0
    for _ in range(2):
        misses_before = memo.misses
        for where, tracker in after_each_event(domain, tmp_path):
            same_answers(theirs, mine, memo, domain, tracker, where)
            checked += 1
        if _ == 0:
            assert memo.misses > 20, "the first pass should have searched"
        else:
            assert memo.misses == misses_before, "the second pass asks only what the first one answered"
    assert checked >= 2 * 200   # 235 points in data/ today
    assert memo.hits > checked, "the memo answered nothing"


def test_a_form_and_the_history_are_part_of_what_is_remembered(policies):
    """The same last message inside and outside a form, and after another turn, is remembered apart."""
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, UserUttered

    theirs, mine, memo, domain, _ = policies
    forms = list(domain.form_names)
    assert forms, "data/ has a form"
    variants = {
        "plain": [],
        "in a form": [ActionExecuted(forms[0]), ActiveLoop(forms[0])],
        "after a turn": [ActionExecuted("action_listen"), UserUttered("thx", intent={"name": "thanks",
                         "confidence": 1.0}), ActionExecuted("utter_thanks")],
    }
    for name, before in variants.items():
        tracker = fresh_tracker(domain, f"memo-{name}")
        for event in before + [ActionExecuted("action_listen"),
                               UserUttered("hi", intent={"name": "greet", "confidence": 1.0})]:
            tracker.update(event, domain)
        misses = memo.misses
        same_answers(theirs, mine, memo, domain, tracker, name)
        assert memo.misses > misses, f"{name}: answered from another situation's memory"
        misses = memo.misses
        same_answers(theirs, mine, memo, domain, tracker, f"{name}, again")
        assert memo.misses == misses, f"{name}: asked again, the memo should answer"


def test_long_conversations_share_answers_by_their_last_states_and_still_get_rasas(policies):
    """Thirty-turn conversations of random intents, the bot's actions chosen by Rasa's whole ensemble."""
    import random

    from rasa.shared.core.events import ActionExecuted, ActiveLoop, UserUttered

    theirs, mine, memo, domain, rasas = policies
    assert 1 <= memo.reach < 30, "the rules reach back a few states, not the whole conversation"
    intents = sorted(i for i in domain.intents if not i.startswith("nlu_")) + ["nlu_fallback"]
    generator = random.Random(19)
    hits_before, checked = memo.hits, 0
    for n in range(6):
        tracker = fresh_tracker(domain, f"long-{n}")
        for turn in range(30):
            # Fallbacks often, so that "a second fallback in a row" (a rule three states long) comes up.
            intent = "nlu_fallback" if generator.random() < 0.3 else generator.choice(intents)
            tracker.update(UserUttered(f"text {turn}", intent={"name": intent, "confidence": 1.0}), domain)
            for _ in range(5):
                where = f"conversation {n}, turn {turn} ({intent})"
                same_answers(theirs, mine, memo, domain, tracker, where)
                checked += 1
                prediction = rasas.processor._predict_next_with_tracker(tracker.copy())
                action = domain.action_names_or_texts[prediction.max_confidence_index]
                tracker.update(ActionExecuted(action), domain)
                for event in prediction.events:
                    tracker.update(event, domain)
                if action in domain.form_names and tracker.active_loop_name is None:
                    tracker.update(ActiveLoop(action), domain)
                if action == "action_listen":
                    break
    assert checked >= 6 * 30
    assert memo.hits - hits_before > checked, "later turns should be answered from earlier ones' states"
    assert memo.hidden_reach is not None, "this model's hidden rules should be readable"
    assert PAST_ANY_RULE_SEEN, "long conversations no rule covers should not have had their JSON written"


def test_the_key_ignores_order_within_a_state_and_refuses_unhashable_states():
    assert rule_memo.frozen([{"user": {"intent": "greet", "entities": ("a",)}}]) == \
        rule_memo.frozen([{"user": {"entities": ("a",), "intent": "greet"}}])
    with pytest.raises(TypeError):
        hash(rule_memo.frozen([{"user": {"entities": ["a"]}}]))
