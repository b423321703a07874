"""RulePolicy's rule search, remembered by the dialogue states it was asked about.

RulePolicy answers "which rule applies?" by testing every rule it learned against the
conversation's states (`_find_action_from_rules`), twice a prediction (once with the customer's
text, once with the intent) and for every prediction of a turn: measured under load, a fifth of
the time the server held the GIL. Which rules apply depends only on the conversation's last few states: Rasa
compares a rule with the states from the latest one back, as far as the rule reaches, and no
further (`_get_possible_keys`). So the answer is a function of the question's kind, the active
loop and the last `reach` states, `reach` being the longest rule the policy learned, and of the
policy's rule tables, which a loaded model never changes (only training edits them). Customers
ask the same few things in the same few situations, so those keys come back again and again, and
the first answer for one is reused. The states themselves are still worked out for every
question. When no rule applies Rasa names the situation by the whole conversation (a key of all
its states); that name is made afresh from this conversation's states, never remembered, and
only while the conversation is short enough for the name to matter (`_conversation_key`).
A miss, or states that cannot be a dictionary key, asks Rasa's own search.
`tests/engine/test_rule_memo.py` replays every rule and story in data/, and long conversations,
with and without the memo.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, Hashable, List, Optional, Tuple

LIMIT = 20_000    # answers kept; a full memo starts again (hits resume within a few turns)

_Answer = Tuple[Optional[str], Optional[str], bool]   # Rasa's: action, where it came from, unhappy-path return


def frozen(states: List[Dict[str, Dict[str, Any]]]) -> Tuple[Hashable, ...]:
    """The states as a key: order-free within a state and a sub-state, as Rasa's own keys are."""
    return tuple(
        tuple(sorted((name, tuple(sorted(sub.items())) if isinstance(sub, dict) else sub)
                     for name, sub in state.items()))
        for state in states)


class RuleMemo:
    def __init__(self, policy: Any) -> None:
        from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH
        from rasa.shared.core.constants import ACTION_LISTEN_NAME

        self.policy = policy
        self.search = policy._find_action_from_rules   # Rasa's own, bound to this policy
        self.listen = ACTION_LISTEN_NAME
        self.rules = policy.lookup.get(RULES, {})
        tables = (self.rules, policy.lookup.get(RULES_FOR_LOOP_UNHAPPY_PATH, {}))
        self.reach = max((len(policy._rule_key_to_state(key)) for table in tables for key in table), default=0)
        # key -> (action, the matching rule's key or None, returning from an unhappy path)
        self.answers: Dict[Hashable, _Answer] = {}
        self.lock = threading.Lock()   # predictions may come from more than one thread
        self.hidden_reach = _hidden_reach(policy)
        self.hits = 0
        self.misses = 0

    def find(self, tracker: Any, domain: Any, use_text_for_last_user_input: bool) -> _Answer:
        if use_text_for_last_user_input and tracker.latest_action_name != self.listen:
            return None, None, False   # Rasa's own first test, before it looks at any state
        policy = self.policy
        states = policy._prediction_states(tracker, domain, use_text_for_last_user_input,
                                           rule_only_data=policy._get_rule_only_data())
        try:
            key = (id(domain), use_text_for_last_user_input, tracker.active_loop_name,
                   frozen(states[max(0, len(states) - self.reach):]))
            known = self.answers.get(key)
        except TypeError:   # a state Rasa builds differently (unhashable): not remembered
            return self.search(tracker, domain, use_text_for_last_user_input)
        if known is not None:
            self.hits += 1
            action, rule, returning = known
            return action, rule or self._conversation_key(states), returning
        self.misses += 1
        answer = self.search(tracker, domain, use_text_for_last_user_input)
        action, source, returning = answer
        # A source that is a rule's key came from the last states; anything else names the whole conversation.
        known = (action, source if source in self.rules else None, returning)
        with self.lock:
            if len(self.answers) >= LIMIT:
                self.answers.clear()
            self.answers[key] = known
        return answer

    def _conversation_key(self, states: List[Dict[str, Any]]) -> Optional[str]:
        """Rasa's name for a situation no rule covers: the JSON of the conversation's states.

        Serving, Rasa uses that name for one thing only: whether it is one of the rules kept out of
        stories (`hide_rule_turn`), and those are keys of at most `hidden_reach` states. A longer
        conversation cannot be one of them, and writing its JSON cost more the longer it grew (2.4-3 %
        of the GIL in profiles at 64 senders), so it gets `PAST_ANY_RULE`; a short one gets Rasa's own.
        """
        reach = self.hidden_reach
        if reach is not None and len(states) > reach and not any(
                self.policy._is_rule_snippet_state(state) for state in states[-(reach + 1):]):
            return PAST_ANY_RULE   # the key would hold more than `reach` states
        return self.policy._create_feature_key(states)


# Not JSON, so never a rule's key; `_hidden_reach` checks it is not among the hidden rules either.
PAST_ANY_RULE = "baton: the conversation's states, longer than any rule kept out of stories"


def _hidden_reach(policy: Any) -> Optional[int]:
    """The most states a rule kept out of stories spans, or None when that cannot be told."""
    import json

    from rasa.core.policies.rule_policy import DEFAULT_RULES, LOOP_RULES, RULES_NOT_IN_STORIES

    reach = 0
    hidden = policy.lookup.get(RULES_NOT_IN_STORIES, [])
    if PAST_ANY_RULE in hidden:
        return None
    for key in hidden:
        if key.startswith((DEFAULT_RULES, LOOP_RULES)):
            continue   # names of Rasa's built-in rules, never a conversation's key
        try:
            states = json.loads(key)
        except (TypeError, ValueError):
            return None
        if not isinstance(states, list):
            return None
        reach = max(reach, len(states))
    return reach


def install(processor: Any) -> List[RuleMemo]:
    """Remember the rule search of each RulePolicy in the processor's graph (not of subclasses,
    which may search differently)."""
    from rasa.core.policies.rule_policy import RulePolicy

    runner = processor.graph_runner
    nodes = getattr(runner, "inner", runner)._instantiated_nodes
    memos = []
    for node in nodes.values():
        policy = getattr(node, "_component", None)
        if type(policy) is RulePolicy and "_find_action_from_rules" not in policy.__dict__:   # not yet installed
            memo = RuleMemo(policy)
            policy._find_action_from_rules = memo.find
            memos.append(memo)
    return memos
