"""The dialogue fast path predicts exactly the actions Rasa's full ensemble predicts.

Rasa's side: an untouched Agent; Baton's side: a second Agent with the fast path installed, on
the same model (fast pipeline + Memoization, Rule and TED policies; TED trained on stories made
from data/'s rules, so it has something to say). Every rule in data/ and every story the model
was trained on is replayed step by step; before each of its actions both predict the next one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, List

import pytest
import yaml

from bot import dialogue_fast_path, rasa_graph, rule_memo
from bot.settings import PROJECT_ROOT
from tests.engine.conftest import load_agent, stories_from_rules


@pytest.fixture(scope="module")
def agents(ted_model_path):
    rasas = load_agent(ted_model_path)
    ours = load_agent(ted_model_path)
    rasa_graph.install(ours.processor)
    fast = dialogue_fast_path.install(ours.processor)
    assert fast is not None, "the fast path must be on for a Memoization + Rule + TED model"
    assert rule_memo.install(ours.processor), "and the rule search remembered, as the engine does"
    return rasas, ours, fast


def story_steps(domain, tmp_path: Path) -> List[Any]:
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader

    stories = tmp_path / "stories.yml"
    stories.write_text(yaml.safe_dump({"version": "3.1", "stories": stories_from_rules()}, sort_keys=False))
    steps = []
    for path in (PROJECT_ROOT / "data" / "rules.yml", stories):
        steps += YAMLStoryReader(domain).read_from_file(str(path))
    return steps


def fresh_tracker(domain, sender: str):
    from rasa.shared.core.events import ActionExecuted, SessionStarted
    from rasa.shared.core.trackers import DialogueStateTracker

    return DialogueStateTracker.from_events(
        sender, [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")],
        domain.slots)


def after_each_event(domain, tmp_path: Path):
    """(where, tracker) after each event of every rule and story in data/, one fresh tracker per story."""
    from rasa.shared.core.constants import RULE_SNIPPET_ACTION_NAME
    from rasa.shared.core.events import ActionExecuted

    for step in story_steps(domain, tmp_path):
        tracker = fresh_tracker(domain, step.block_name)
        for event in step.events:
            if isinstance(event, ActionExecuted) and event.action_name == RULE_SNIPPET_ACTION_NAME:
                continue   # a rule's "anything may follow here", not an action
            tracker.update(event, domain)
            yield f"{step.block_name}: after {event}", tracker


def assert_same_prediction(rasas, ours, tracker, where: str) -> str:
    theirs = rasas.processor._predict_next_with_tracker(tracker.copy())
    mine = ours.processor._predict_next_with_tracker(tracker.copy())
    assert mine.max_confidence_index == theirs.max_confidence_index, where
    assert mine.max_confidence == theirs.max_confidence, where
    assert mine.policy_name == theirs.policy_name, where
    assert mine.events == theirs.events, where
    assert mine.is_end_to_end_prediction == theirs.is_end_to_end_prediction, where
    assert mine.hide_rule_turn == theirs.hide_rule_turn, where
    return rasas.domain.action_names_or_texts[theirs.max_confidence_index]


def test_every_rule_and_story_gets_the_same_actions(agents, tmp_path):
    from rasa.shared.core.constants import RULE_SNIPPET_ACTION_NAME
    from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected, UserUttered

    rasas, ours, fast = agents
    domain = rasas.domain
    steps = story_steps(domain, tmp_path)
    assert len(steps) >= 80   # 34 rules, 26 one-turn and 26 two-turn stories (the reader merges a few)
    predictions = 0
    after_rejection = 0   # the prediction after a form rejected a message: the full ensemble's by design
    for step in steps:
        tracker = fresh_tracker(domain, step.block_name)
        seen_user = False   # a rule's actions before its first user turn are its condition, not predictions
        for event in step.events:
            if isinstance(event, ActionExecuted) and event.action_name == RULE_SNIPPET_ACTION_NAME:
                continue   # a rule's "anything may follow here", not an action
            if isinstance(event, UserUttered):
                if tracker.latest_action_name != "action_listen":
                    if seen_user:
                        where = f"{step.block_name}: before {event}"
                        assert assert_same_prediction(rasas, ours, tracker, where) == "action_listen", where
                        predictions += 1
                    tracker.update(ActionExecuted("action_listen"), domain)
                seen_user = True
            elif isinstance(event, ActionExecuted) and seen_user:
                loop = tracker.active_loop_name
                if loop and event.action_name != loop and tracker.latest_action_name == "action_listen":
                    # A rule for a message an active form cannot use: Rasa runs the form first, the form
                    # rejects the message, and only then does the rule apply (the full ensemble decides).
                    where = f"{step.block_name}: the form before {event}"
                    assert assert_same_prediction(rasas, ours, tracker, where) == loop, where
                    tracker.update(ActionExecutionRejected(loop), domain)
                    predictions += 1
                    after_rejection += 1
                action = assert_same_prediction(rasas, ours, tracker, f"{step.block_name}: before {event}")
                assert action == event.action_name, f"{step.block_name}: the model itself disagrees"
                predictions += 1
            tracker.update(event, domain)
        if tracker.latest_action_name != "action_listen":
            assert assert_same_prediction(rasas, ours, tracker, f"{step.block_name}: at its end") == "action_listen"
            predictions += 1
    assert predictions >= 28 * 4
    assert fast.stats.fast >= predictions - after_rejection, "rules decide these: the fast path should have taken them"


def test_states_no_rule_decides_go_through_the_full_ensemble_with_the_same_result(agents):
    from rasa.shared.core.events import ActionExecuted, UserUttered

    rasas, ours, fast = agents
    domain = rasas.domain
    odd_sequences = [
        [UserUttered(intent={"name": "greet", "confidence": 1.0}), ActionExecuted("utter_goodbye")],
        [UserUttered(intent={"name": "greet", "confidence": 1.0}), ActionExecuted("utter_greet"),
         ActionExecuted("utter_thanks")],
        [UserUttered(intent={"name": "thanks", "confidence": 1.0}), ActionExecuted("action_listen"),
         UserUttered(intent={"name": "order_status", "confidence": 1.0}), ActionExecuted("utter_deny")],
    ]
    full_before = fast.stats.full
    for n, events in enumerate(odd_sequences):
        tracker = fresh_tracker(domain, f"odd-{n}")
        for event in events:
            tracker.update(event, domain)
        assert_same_prediction(rasas, ours, tracker, f"odd sequence {n}")
    assert fast.stats.full > full_before, "none of these states went through the full ensemble"


def test_no_fast_path_for_a_model_without_neural_policies(model_path):
    agent = load_agent(model_path)   # the fast config: Memoization and Rule only, nothing to skip
    assert dialogue_fast_path.install(agent.processor) is None
