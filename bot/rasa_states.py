"""Rasa's dialogue states of a conversation, worked out once per turn instead of once per question.

Every dialogue policy asks for the states of the whole conversation (`Domain.states_for_tracker_history`)
for every prediction, and Rasa replays the conversation from its first event each time: in a long
conversation that replay was the largest single cost of a turn (RulePolicy alone asks twice a turn).
A state depends only on the events applied before it, so the states already worked out for a
tracker stay valid while its applied events keep the same beginning; only the new events are
replayed. Anything else (an undo, a restart, a rewritten loop: the applied events no longer begin
with the remembered ones) starts from the first event, exactly as Rasa does. The loop below is
Rasa 3.6's own, made resumable. Every call gets a new list whose last state is a fresh copy: Rasa's
featurizers edit the last state they are given (`_choose_last_user_input` drops its text or intent),
and of the others only drop the text of a message whose intent is known, which a second time
changes nothing; so the earlier states are shared with the memo rather than copied per call, and
that dropping walks only the states no featurizer has cleaned yet (`remove_user_text_if_intent`).

The applied events (`DialogueStateTracker.applied_events`: the events minus what undo and restart
events took back) are kept the same way: Rasa walks every event to work them out, several times a
turn (twice only to ask whether the session expired). Only five kinds of event make that walk do
anything but append (a restart or new session, the two undo events, a loop starting or stopping,
and a run of a loop's own action); while the events stored since the last call are none of those,
the applied events are the remembered ones plus the new ones, and otherwise Rasa's own walk runs.
`tests/engine/test_rasa_states.py` compares both with Rasa's, call by call, on every story and rule
in data/ and on long, rewound and restarted conversations.
"""

from __future__ import annotations

import copy
import weakref
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

_installed = False


@dataclass
class _Progress:
    """Where one replay of one tracker got to (for one combination of the call's options)."""

    domain: Any
    rule_only_data: Any                                 # compared by value: Rasa builds it afresh per call
    events: List[Any] = field(default_factory=list)     # the applied events replayed so far
    replay: Any = None                                  # the tracker those events were applied to
    states: List[Dict[str, Dict[str, Any]]] = field(default_factory=list)
    last_ml_action_sub_state: Any = None
    turn_was_hidden: bool = False
    reshaped: int = -1                                  # the applied events' `reshaped` count at the last call
    text_dropped: int = 0                               # leading states a featurizer has already cleaned


class _States(list):
    """A call's states: the first `shared` are the memo's own (`progress.states`), the rest its own."""

    __slots__ = ("progress", "shared")


@dataclass
class MemoStats:
    resumed: int = 0   # calls that replayed only the events new since the last call
    replayed: int = 0  # calls that replayed the whole conversation (first call, undo, restart, options)


stats = MemoStats()

# id(tracker) -> (weak reference to it, its progress per (omit_unset_slots, ignore_rule_only_turns))
_memo: Dict[int, Tuple[Any, Dict[Tuple[bool, bool], _Progress]]] = {}


def _forget(key: int):
    def callback(_ref: Any) -> None:
        _memo.pop(key, None)
    return callback


def _progress_of(tracker: Any, options: Tuple[bool, bool]) -> Dict[Tuple[bool, bool], _Progress]:
    key = id(tracker)
    entry = _memo.get(key)
    if entry is None or entry[0]() is not tracker:
        entry = (weakref.ref(tracker, _forget(key)), {})
        _memo[key] = entry
    return entry[1]


@dataclass
class _Applied:
    """A tracker's applied events as of its first `raw_count` events."""

    events: List[Any]
    raw_count: int
    raw_last: Any
    loop_names: set
    reshaped: int = 0      # how often they were worked out afresh (not only appended to)


# id(tracker) -> (weak reference to it, its applied events)
_applied: Dict[int, Tuple[Any, _Applied]] = {}


def _forget_applied(key: int):
    def callback(_ref: Any) -> None:
        _applied.pop(key, None)
    return callback


def _only_appended(tracker: Any, known: _Applied) -> Optional[List[Any]]:
    """The events stored since `known`, if Rasa's walk would only append them; else None."""
    from rasa.shared.core.events import (
        ActionExecuted, ActionReverted, ActiveLoop, Restarted, SessionStarted, UserUtteranceReverted,
    )

    events = tracker.events
    seen = known.raw_count
    if seen == 0 or len(events) < seen or events[seen - 1] is not known.raw_last:
        return None
    new = [events[i] for i in range(seen, len(events))]   # from the end: a deque indexes fast there
    for event in new:
        if isinstance(event, (Restarted, SessionStarted, ActionReverted, UserUtteranceReverted, ActiveLoop)):
            return None
        if isinstance(event, ActionExecuted) and event.action_name in known.loop_names:
            return None
    return new


def applied_of(tracker: Any) -> _Applied:
    """The tracker's applied events, brought up to date (the list is the memo's: do not change it)."""
    from rasa.shared.core.events import ActiveLoop

    key = id(tracker)
    entry = _applied.get(key)
    known = entry[1] if entry is not None and entry[0]() is tracker else None
    events = tracker.events
    if known is not None:
        new = _only_appended(tracker, known)
        if new is not None:
            known.events.extend(new)
            known.raw_count = len(events)
            known.raw_last = events[-1] if len(events) else None
            return known
    fresh = _Applied(_original_applied(tracker), len(events), events[-1] if len(events) else None,
                     {e.name for e in events if isinstance(e, ActiveLoop) and e.name},   # Rasa's own rule
                     reshaped=known.reshaped + 1 if known is not None else 0)
    _applied[key] = (weakref.ref(tracker, _forget_applied(key)), fresh)
    return fresh


def applied_events(tracker: Any) -> List[Any]:
    """`DialogueStateTracker.applied_events`, from the memo (a new list each call, as Rasa's)."""
    from rasa.shared.core.trackers import DialogueStateTracker

    if type(tracker) is not DialogueStateTracker:
        return _original_applied(tracker)
    return list(applied_of(tracker).events)


def _fresh(state: Dict[str, Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    # Sub-state values are strings and tuples; the dicts are what a caller may edit.
    return {name: dict(sub) for name, sub in state.items()}


def states_for_tracker_history(domain: Any, tracker: Any, omit_unset_slots: bool = False,
                               ignore_rule_only_turns: bool = False,
                               rule_only_data: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
    from rasa.shared.core.constants import PREVIOUS_ACTION
    from rasa.shared.core.events import ActionExecuted
    from rasa.shared.core.trackers import DialogueStateTracker

    if type(tracker) is not DialogueStateTracker:
        return _original(domain, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data)

    options = (bool(omit_unset_slots), bool(ignore_rule_only_turns))
    progresses = _progress_of(tracker, options)
    progress = progresses.get(options)
    if progress is not None and (progress.domain is not domain or progress.rule_only_data != rule_only_data):
        progress = None
    known = applied_of(tracker)
    applied = known.events
    if progress is not None and (len(progress.events) > len(applied) or (
            progress.reshaped != known.reshaped   # not only appended to since: check the beginning
            and any(a is not b for a, b in zip(progress.events, applied)))):
        progress = None
    if progress is None:
        progress = _Progress(domain, copy.deepcopy(rule_only_data), replay=tracker.init_copy())
        progresses[options] = progress
        stats.replayed += 1
    else:
        stats.resumed += 1
    progress.reshaped = known.reshaped

    def step(replay: Any, hide_rule_turn: bool, states: List[Dict[str, Any]],
             last_ml: Any, hidden: bool) -> Tuple[Any, bool]:
        """One pass of Rasa's loop body: appends the state of `replay` unless the turn is hidden."""
        if ignore_rule_only_turns:
            if not hidden:
                last_ml = domain._get_prev_action_sub_state(replay)
            if not replay.followup_action and not replay.latest_action_name == replay.active_loop_name:
                hidden = hide_rule_turn
            if hidden:
                return last_ml, hidden
        state = domain.get_active_state(replay, omit_unset_slots=omit_unset_slots)
        if ignore_rule_only_turns:
            domain._remove_rule_only_features(state, rule_only_data)
            if states:
                domain._substitute_rule_only_user_input(state, states[-1])
            if last_ml:
                state[PREVIOUS_ACTION] = last_ml
        states.append(domain._clean_state(state))
        return last_ml, hidden

    replay = progress.replay
    for event in applied[len(progress.events):]:
        if isinstance(event, ActionExecuted):
            progress.last_ml_action_sub_state, progress.turn_was_hidden = step(
                replay, event.hide_rule_turn, progress.states, progress.last_ml_action_sub_state,
                progress.turn_was_hidden)
        replay.update(event)
        progress.events.append(event)

    # The state after the last event belongs to this call only: the next event may come before it.
    states = _States(progress.states)
    states.progress, states.shared = progress, len(progress.states)
    step(replay, False, states, progress.last_ml_action_sub_state, progress.turn_was_hidden)
    if states:
        states[-1] = _fresh(states[-1])
    return states


def remove_user_text_if_intent(trackers_as_states: List[List[Dict[str, Any]]]) -> None:
    """Rasa's `TrackerFeaturizer._remove_user_text_if_intent`, skipping the memo's states it cleaned before.

    Every featurizer drops the text of each state whose message has an intent, in place: three
    times a prediction, over every state of the conversation (7 % of the GIL at 140 turns). The
    earlier states are the memo's own objects, shared by every call, so once cleaned they stay
    clean and a second pass over them changes nothing; only the states after them are walked.
    """
    from rasa.shared.core.constants import USER
    from rasa.shared.nlu.constants import INTENT, TEXT

    for states in trackers_as_states:
        progress = states.progress if type(states) is _States else None
        start = min(progress.text_dropped, states.shared) if progress is not None else 0
        for index in range(start, len(states)):
            user = states[index].get(USER, {})
            if user.get(INTENT) and user.get(TEXT):
                del user[TEXT]
        if progress is not None:
            progress.text_dropped = max(progress.text_dropped, states.shared)


_original: Any = None
_original_applied: Any = None
_original_remove_text: Any = None


def install() -> None:
    """Route `Domain.states_for_tracker_history` and `DialogueStateTracker.applied_events` through
    the memos (idempotent, process-wide)."""
    global _installed, _original, _original_applied, _original_remove_text
    if _installed:
        return
    from rasa.core.featurizers.tracker_featurizers import TrackerFeaturizer
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    _original = Domain.states_for_tracker_history
    _original_applied = DialogueStateTracker.applied_events
    _original_remove_text = TrackerFeaturizer.__dict__["_remove_user_text_if_intent"]   # the staticmethod
    Domain.states_for_tracker_history = states_for_tracker_history
    DialogueStateTracker.applied_events = applied_events
    TrackerFeaturizer._remove_user_text_if_intent = staticmethod(remove_user_text_if_intent)
    _installed = True


def uninstall() -> None:
    """Rasa's own again (tests compare the two)."""
    global _installed
    if not _installed:
        return
    from rasa.core.featurizers.tracker_featurizers import TrackerFeaturizer
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    Domain.states_for_tracker_history = _original
    DialogueStateTracker.applied_events = _original_applied
    TrackerFeaturizer._remove_user_text_if_intent = _original_remove_text
    _memo.clear()
    _applied.clear()
    _installed = False
