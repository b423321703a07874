"""Rasa's dialogue states of a conversation, worked out once per turn instead of once per question.

Every dialogue policy asks for the states of the whole conversation (`Domain.states_for_tracker_history`)
for every prediction, and Rasa replays the conversation from its first event each time: in a long
conversation that replay was the largest single cost of a turn (RulePolicy alone asks twice a turn).
A state depends only on the events applied before it, so the states already worked out for a
tracker stay valid while its applied events keep the same beginning; only the new events are
replayed. Anything else (an undo, a restart, a rewritten loop: the applied events no longer begin
with the remembered ones) starts from the first event, exactly as Rasa does. The loop below is
Rasa 3.6's own, made resumable. Every call gets a new list whose last state is a fresh copy: Rasa's
featurizers edit the last state they are given (`_choose_last_user_input` drops its text or intent)
and nothing else, so the earlier states are shared with the memo rather than copied per call. `tests/engine/test_rasa_states.py` compares it with Rasa's, state
by state, on every story and rule in data/ and on long and rewound conversations.
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
    raw_count: int = 0                                  # how many of the tracker's own events that was
    raw_last: Any = None                                # and the last of them
    loop_names: set = field(default_factory=set)        # every loop name its events named


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


def _appended(tracker: Any, progress: _Progress) -> Optional[List[Any]]:
    """The tracker's applied events without Rasa's full pass, when they only grew at the end.

    Rasa's `applied_events` walks every event, and only five kinds of event make it do anything
    but append: a restart or new session, the two undo events, a loop (form) starting or stopping
    (its name changes how earlier runs of that loop count), and a run of an active loop's action.
    When the events stored since the last call are none of those, the applied events are the
    remembered ones plus the new ones; anything else (or events that changed before the end) gets
    Rasa's own pass.
    """
    from rasa.shared.core.events import (
        ActionExecuted, ActionReverted, ActiveLoop, Restarted, SessionStarted, UserUtteranceReverted,
    )

    events = tracker.events
    seen = progress.raw_count
    if progress.raw_last is None or len(events) < seen or events[seen - 1] is not progress.raw_last:
        return None
    new = [events[i] for i in range(seen, len(events))]   # from the end: a deque indexes fast there
    for event in new:
        if isinstance(event, (Restarted, SessionStarted, ActionReverted, UserUtteranceReverted, ActiveLoop)):
            return None
        if isinstance(event, ActionExecuted) and event.action_name in progress.loop_names:
            return None
    return progress.events + new


def _remember_raw(tracker: Any, progress: _Progress) -> None:
    from rasa.shared.core.events import ActiveLoop

    events = tracker.events
    if progress.raw_last is None or progress.raw_count > len(events) or (
            len(events) and events[progress.raw_count - 1] is not progress.raw_last) or any(
            isinstance(events[i], ActiveLoop) for i in range(progress.raw_count, len(events))):
        # Rasa's own rule: every loop name any ActiveLoop event ever named.
        progress.loop_names = {e.name for e in events if isinstance(e, ActiveLoop) and e.name}
    progress.raw_count = len(events)
    progress.raw_last = events[-1] if len(events) else None


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
    applied = _appended(tracker, progress) if progress is not None else None
    if applied is None:
        applied = tracker.applied_events()
        if progress is not None and (len(progress.events) > len(applied)
                                     or any(a is not b for a, b in zip(progress.events, applied))):
            progress = None
    if progress is None:
        progress = _Progress(domain, copy.deepcopy(rule_only_data), replay=tracker.init_copy())
        progresses[options] = progress
        stats.replayed += 1
    else:
        stats.resumed += 1
    _remember_raw(tracker, progress)

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
    states = list(progress.states)
    step(replay, False, states, progress.last_ml_action_sub_state, progress.turn_was_hidden)
    if states:
        states[-1] = _fresh(states[-1])
    return states


_original: Any = None


def install() -> None:
    """Route `Domain.states_for_tracker_history` through the memo (idempotent, process-wide)."""
    global _installed, _original
    if _installed:
        return
    from rasa.shared.core.domain import Domain

    _original = Domain.states_for_tracker_history
    Domain.states_for_tracker_history = states_for_tracker_history
    _installed = True


def uninstall() -> None:
    """Rasa's own again (tests compare the two)."""
    global _installed
    if not _installed:
        return
    from rasa.shared.core.domain import Domain

    Domain.states_for_tracker_history = _original
    _memo.clear()
    _installed = False
