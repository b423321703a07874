"""Rasa's `DialogueStateTracker.copy`, without replaying the whole conversation.

Rasa copies a tracker before running every action (`MessageProcessor._run_action`: twice a turn)
by replaying every event into a fresh tracker, so a turn's cost grew with the conversation's
length. A tracker's state "MUST be re-creatable by processing all the events" (Rasa's own
comment on it), so the copy can take that state directly: the same events (the same objects, as
Rasa's replay shares them), copies of the slots and of the active loop, the latest action as a
new dict, and the rest as the replay would leave it (no model or assistant id, no sender source:
`init_copy` does not carry them). Where that rule could fail — a tracker that has already
forgotten its oldest events (`max_event_history`), one without domain slots, a subclass — Rasa's
own copy runs. `tests/engine/test_rasa_tracker_copy.py` compares both after every event of every
rule and story in data/ and of long, undone, restarted and paused conversations.
"""

from __future__ import annotations

import copy as copying
from collections import deque
from typing import Any

_original: Any = None


def fast_copy(tracker: Any) -> Any:
    from rasa.shared.core.trackers import AnySlotDict, DialogueStateTracker

    if (type(tracker) is not DialogueStateTracker or tracker._max_event_history is not None
            or isinstance(tracker.slots, AnySlotDict)):
        return _original(tracker)
    new = DialogueStateTracker.__new__(DialogueStateTracker)
    state = dict(tracker.__dict__)
    state["events"] = deque(tracker.events)
    state["slots"] = {name: copying.copy(slot) for name, slot in tracker.slots.items()}
    state["active_loop"] = copying.copy(tracker.active_loop)
    state["latest_action"] = dict(tracker.latest_action) if tracker.latest_action is not None else None
    state["sender_id"] = tracker.sender_id or _default_sender_id()
    state["sender_source"] = None
    state["model_id"] = None
    state["assistant_id"] = None
    # A latest message or bot utterance that no event put there is the placeholder a reset made;
    # the replay makes its own (with its own timestamp).
    for name, empty in (("latest_message", _empty_user), ("latest_bot_utterance", _empty_bot)):
        current = state[name]
        if current is not None and not any(event is current for event in reversed(tracker.events)):
            state[name] = empty()
    new.__dict__.update(state)
    return new


def _empty_user() -> Any:
    from rasa.shared.core.events import UserUttered

    return UserUttered.empty()


def _empty_bot() -> Any:
    from rasa.shared.core.events import BotUttered

    return BotUttered.empty()


def _default_sender_id() -> str:
    from rasa.shared.constants import DEFAULT_SENDER_ID   # what init_copy falls back to

    return DEFAULT_SENDER_ID


def install() -> None:
    """Route `DialogueStateTracker.copy` through `fast_copy` (idempotent, process-wide)."""
    global _original
    if _original is not None:
        return
    from rasa.shared.core.trackers import DialogueStateTracker

    _original = DialogueStateTracker.copy
    DialogueStateTracker.copy = fast_copy


def uninstall() -> None:
    global _original
    if _original is None:
        return
    from rasa.shared.core.trackers import DialogueStateTracker

    DialogueStateTracker.copy = _original
    _original = None
