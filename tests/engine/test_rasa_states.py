"""The remembered dialogue states (bot/rasa_states.py) are Rasa's own, state by state.

Rasa's side is `Domain.states_for_tracker_history` as Rasa ships it; ours resumes from what it
worked out for the same tracker before. Every rule and story in data/ is replayed event by event on
ONE tracker object (so the memo is used, not rebuilt), asking both for every option a policy uses;
then a long real conversation, undo and restart events, and callers that edit what they get.
"""

from __future__ import annotations

import asyncio
import copy

import pytest

from bot import rasa_states
from tests.engine.conftest import installed
from tests.engine.test_dialogue_fast_path import after_each_event

OPTIONS = [(False, False), (True, False), (False, True), (True, True)]


@pytest.fixture()
def memo():
    yield from installed(rasa_states)


def rule_only_data(ted_agent):
    from rasa.core.policies.rule_policy import RulePolicy

    for node in ted_agent.processor.graph_runner._instantiated_nodes.values():
        component = getattr(node, "_component", None)
        if isinstance(component, RulePolicy):
            return component._get_rule_only_data() or None
    return None


def assert_same_states(domain, tracker, rule_only, where: str) -> int:
    from rasa.shared.core.domain import Domain

    original = rasa_states._original or Domain.states_for_tracker_history
    if rasa_states._original_applied is not None:
        ours_applied, theirs_applied = tracker.applied_events(), rasa_states._original_applied(tracker)
        assert len(ours_applied) == len(theirs_applied) and all(
            a is b for a, b in zip(ours_applied, theirs_applied)), f"{where}: applied events"
    compared = 0
    for omit, ignore in OPTIONS:
        for data in ((None, rule_only) if ignore else (None,)):
            theirs = original(domain, tracker, omit, ignore, data)
            ours = domain.states_for_tracker_history(tracker, omit, ignore, data)
            assert ours == theirs, f"{where} (omit_unset_slots={omit}, ignore_rule_only_turns={ignore})"
            compared += 1
    return compared


def test_every_rule_and_story_gives_rasas_states_event_by_event(ted_agent, memo, tmp_path):
    domain = ted_agent.domain
    rule_only = rule_only_data(ted_agent)
    assert rule_only, "the model's RulePolicy should know rule-only slots or loops (data/ has a form)"
    compared = 0
    for where, tracker in after_each_event(domain, tmp_path):
        compared += assert_same_states(domain, tracker, rule_only, where)
    assert compared > 1000


def test_a_long_conversation_undo_restart_and_edited_results(ted_agent, memo):
    from rasa.shared.core.events import ActionReverted, Restarted, UserUtteranceReverted

    domain = ted_agent.domain
    rule_only = rule_only_data(ted_agent)
    texts = ["hi", "how long does delivery take?", "where is my order 12345?", "thanks",
             "what is your return policy?", "my payment failed"]

    async def talk(turns: int) -> None:
        for i in range(turns):
            await ted_agent.handle_text(texts[i % len(texts)], sender_id="long-one")

    before = (rasa_states.stats.resumed, rasa_states.stats.replayed)
    asyncio.run(talk(30))
    resumed, replayed = rasa_states.stats.resumed - before[0], rasa_states.stats.replayed - before[1]
    # Rasa's in-memory store rebuilds the tracker object every turn (Baton's cache keeps it): a full
    # replay once per turn and option set, then each further prediction of the turn resumes.
    assert replayed <= 2 * 30 + 4 and resumed >= 2 * replayed, (resumed, replayed)
    tracker = asyncio.run(ted_agent.tracker_store.retrieve("long-one"))
    assert len(tracker.events) > 150
    assert_same_states(domain, tracker, rule_only, "after 30 turns")

    # Rasa's featurizers edit the last state they get (the user's text or intent): the next answer
    # must not change. A real prediction (which edits it that way) runs in between as well.
    for states in (domain.states_for_tracker_history(tracker, False, True, rule_only),
                   domain.states_for_tracker_history(tracker)):
        for sub in states[-1].values():
            sub.clear()
        states[-1].clear()
        states.clear()
    ted_agent.processor._predict_next_with_tracker(tracker)
    assert_same_states(domain, tracker, rule_only, "after callers edited what they got")

    for n, event in enumerate([UserUtteranceReverted(), ActionReverted(), Restarted()]):
        tracker.update(event, domain)
        assert_same_states(domain, tracker, rule_only, f"after {event}")
        asyncio.run(ted_agent.processor.save_tracker(tracker))
        asyncio.run(ted_agent.handle_text(texts[n], sender_id="long-one"))
        tracker = asyncio.run(ted_agent.tracker_store.retrieve("long-one"))
        assert_same_states(domain, tracker, rule_only, f"a turn after {event}")

    copied = copy.deepcopy(tracker)
    assert_same_states(domain, copied, rule_only, "a deep copy")


def test_the_bot_answers_the_same_with_and_without_it(ted_agent):
    """The same conversation, once through Rasa's states and once through the memo."""
    texts = ["hi", "where is my order 12345?", "how long does delivery take?", "thanks", "my payment failed",
             "what is your return policy?", "goodbye", "hi"] * 3

    async def conversation(sender: str):
        said = []
        for text in texts:
            # How many messages, not their words: a response with variations is picked at random.
            said.append(len(await ted_agent.handle_text(text, sender_id=sender)))
        tracker = await ted_agent.tracker_store.retrieve(sender)
        actions = [e.action_name for e in tracker.events if getattr(e, "action_name", None)]
        return said, actions

    rasa_states.uninstall()
    theirs = asyncio.run(conversation("plain-rasa"))
    rasa_states.install()
    try:
        ours = asyncio.run(conversation("with-memo"))
    finally:
        rasa_states.uninstall()
    assert ours == theirs
    assert any(theirs[0]) and len(set(theirs[1])) > 5


def test_a_tracker_that_forgets_its_oldest_events(ted_agent, memo):
    """A tracker with max_event_history drops events at the front: the memo must notice."""
    from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = ted_agent.domain
    tracker = DialogueStateTracker.from_events("short-memory", [ActionExecuted("action_listen")], domain.slots,
                                               max_event_history=7)
    for n in range(12):
        for event in (UserUttered(f"hi {n}", intent={"name": "greet", "confidence": 1.0}),
                      ActionExecuted("utter_greet"), SlotSet("order_number", str(n)), ActionExecuted("action_listen")):
            tracker.update(event, domain)
            assert_same_states(domain, tracker, None, f"turn {n} after {event}")
    assert len(tracker.events) == 7


def test_featurizers_get_rasas_prediction_states_and_clean_each_shared_state_once(ted_agent, memo):
    """Every policy's prediction states, with and without the memo, after a long conversation; and
    the text of a known intent is dropped from the memo's shared states once, not on every call."""
    from rasa.core.policies.policy import Policy
    from rasa.shared.core.constants import USER
    from rasa.shared.nlu.constants import INTENT, TEXT

    domain = ted_agent.domain
    texts = ["hi", "where is my order 12345?", "how long does delivery take?", "thanks", "my payment failed"]

    async def talk() -> None:
        for i in range(25):
            await ted_agent.handle_text(texts[i % len(texts)], sender_id="featurized")

    asyncio.run(talk())
    tracker = asyncio.run(ted_agent.tracker_store.retrieve("featurized"))
    policies = [n._component for n in ted_agent.processor.graph_runner._instantiated_nodes.values()
                if isinstance(getattr(n, "_component", None), Policy)]
    assert len(policies) >= 3

    rule_only = rule_only_data(ted_agent)   # what the model's graph gives every policy

    def every_policys_states(on):
        return [policy._prediction_states(on, domain, use_text, rule_only_data=rule_only)
                for policy in policies for use_text in (True, False)]

    rasa_states.uninstall()
    try:
        theirs = every_policys_states(copy.deepcopy(tracker))
    finally:
        rasa_states.install()
    for attempt in range(3):   # the first call cleans the shared states, the later ones skip them
        assert every_policys_states(tracker) == theirs, f"call {attempt}"

    states = domain.states_for_tracker_history(tracker, False, False, rule_only)
    assert type(states) is rasa_states._States and states.shared == len(states) - 1 > 50
    assert states.progress.text_dropped == states.shared, "the policies' featurizers cleaned the shared states"
    known = next(s for s in states[:states.shared] if s.get(USER, {}).get(INTENT))
    known[USER][TEXT] = "put back"   # a pass over the shared states would drop it again
    rasa_states.remove_user_text_if_intent([states])
    assert known[USER][TEXT] == "put back", "the remover walked states it had cleaned before"
    del known[USER][TEXT]
