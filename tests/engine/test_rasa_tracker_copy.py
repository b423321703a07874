"""The quick tracker copy (bot/rasa_tracker_copy.py) is the tracker Rasa's replaying copy builds."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from bot import rasa_tracker_copy
from tests.engine.conftest import installed
from tests.engine.test_dialogue_fast_path import after_each_event


@pytest.fixture()
def quick():
    yield from installed(rasa_tracker_copy)


def snapshot(tracker: DialogueStateTracker) -> dict:
    """Everything a tracker holds, comparable: events by identity, slots by value, the rest by value."""
    state = dict(vars(tracker))
    state["events"] = [id(e) for e in tracker.events]
    state["slots"] = {name: (type(slot), slot.value, slot.has_been_set) for name, slot in tracker.slots.items()}
    state["active_loop"] = dataclasses.asdict(tracker.active_loop) if tracker.active_loop else None
    for name in ("latest_message", "latest_bot_utterance"):
        event = state[name]
        if event is None:
            continue
        shown = event.as_dict()
        if not any(e is event for e in tracker.events):
            shown.pop("timestamp")   # a reset's placeholder: each tracker makes its own, at its own time
        state[name] = (type(event), shown)
    return state


def assert_same_copy(tracker: DialogueStateTracker, where: str) -> None:
    theirs = rasa_tracker_copy._original(tracker)
    ours = tracker.copy()
    assert ours is not tracker and ours.events is not tracker.events, where
    assert snapshot(ours) == snapshot(theirs), where
    assert ours.current_state(EventVerbosity.ALL) == theirs.current_state(EventVerbosity.ALL), where
    # Independent of the original: a change to the copy leaves the tracker alone.
    before = snapshot(tracker)
    from rasa.shared.core.events import ActionExecuted, SlotSet
    ours.update(SlotSet("order_number", "99999"))
    ours.update(ActionExecuted("action_listen"))
    if ours.active_loop is not None:
        ours.active_loop.is_interrupted = not ours.active_loop.is_interrupted
    assert snapshot(tracker) == before, f"{where}: changing the copy changed the tracker"


def test_every_rule_and_story_event_by_event(ted_agent, quick, tmp_path):
    copies = 0
    for where, tracker in after_each_event(ted_agent.domain, tmp_path):
        assert_same_copy(tracker, where)
        copies += 1
    assert copies > 200


def test_long_undone_restarted_and_paused_conversations(ted_agent, quick):
    from rasa.shared.core.events import (
        ActionReverted, ConversationPaused, ConversationResumed, Restarted, UserUtteranceReverted,
    )

    texts = ["hi", "where is my order 12345?", "how long does delivery take?", "thanks", "my payment failed"]

    async def talk(turns: int, start: int = 0) -> None:
        for i in range(turns):
            await ted_agent.handle_text(texts[(start + i) % len(texts)], sender_id="copy-long")

    asyncio.run(talk(25))
    tracker = asyncio.run(ted_agent.tracker_store.retrieve("copy-long"))
    assert len(tracker.events) > 120
    assert_same_copy(tracker, "after 25 turns")
    for event in (UserUtteranceReverted(), ActionReverted(), ConversationPaused(), ConversationResumed(),
                  Restarted()):
        tracker.update(event, ted_agent.domain)
        assert_same_copy(tracker, f"after {event}")
    tracker.model_id, tracker.sender_source = "some-model", "some-file"
    assert_same_copy(tracker, "with a model id and sender source (a copy has neither)")


def test_the_bot_answers_the_same_with_and_without_it(ted_agent):
    texts = ["hi", "where is my order 12345?", "how long does delivery take?", "thanks", "goodbye"] * 3

    async def conversation(sender: str):
        counts = [len(await ted_agent.handle_text(text, sender_id=sender)) for text in texts]
        tracker = await ted_agent.tracker_store.retrieve(sender)
        return counts, [e.action_name for e in tracker.events if getattr(e, "action_name", None)]

    theirs = asyncio.run(conversation("copy-plain"))
    rasa_tracker_copy.install()
    try:
        ours = asyncio.run(conversation("copy-quick"))
    finally:
        rasa_tracker_copy.uninstall()
    assert ours == theirs and len(set(theirs[1])) > 4


def test_trackers_it_does_not_copy_get_rasas_copy(ted_agent, quick):
    tracker = DialogueStateTracker.from_events("short", [], ted_agent.domain.slots, max_event_history=3)
    assert snapshot(tracker.copy()) == snapshot(rasa_tracker_copy._original(tracker))
