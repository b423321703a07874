"""Dialogue prediction that skips the neural policies when a rule or a memorised story already decides.

Rasa asks every policy for every prediction (two a turn: the answer, then `action_listen`) and its
ensemble keeps the best by (confidence, priority). When RulePolicy or MemoizationPolicy predicts
an action with confidence 1.0 and outranks the neural policy (priority 6 or 3 against TED's 1),
TED's prediction can never be chosen: its confidences are softmax outputs (at most 1.0), it makes
no "no user" predictions, and, trained without story texts, no end-to-end ones either, and it
adds no events of its own. So the ensemble's result is the same without asking TED, and a turn
skips two TensorFlow calls. When no cheap policy is certain, the full graph runs with the cheap
policies' predictions passed in, so nothing is computed twice.

Anything this module cannot prove safe for the loaded model (an unknown policy, an end-to-end
TED, a custom ensemble) leaves Rasa's own prediction in place. `tests/bot/test_dialogue_fast_path.py`
checks identical actions on every rule and story in data/.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

log = logging.getLogger(__name__)

CHEAP_POLICIES = {"MemoizationPolicy", "AugmentedMemoizationPolicy", "RulePolicy"}
CERTAIN = 1.0


@dataclass
class FastPathStats:
    fast: int = 0
    full: int = 0


class DialogueFastPath:
    def __init__(self, processor: Any, runner: Any, target: str, cheap: List[Tuple[str, str]],
                 other_inputs: Dict[str, str], skipped_priority: int) -> None:
        self.processor = processor
        self.runner = runner
        self.target = target
        self.cheap = cheap                    # (ensemble keyword, node name), in the ensemble's order
        self.other_inputs = other_inputs      # ensemble keyword -> node or placeholder name (domain, tracker)
        self.skipped_priority = skipped_priority
        self.ensemble = getattr(runner, "inner", runner)._instantiated_nodes[target]._component
        self.stats = FastPathStats()

    @classmethod
    def for_processor(cls, processor: Any) -> Optional["DialogueFastPath"]:
        """The fast path for this model, or None when it cannot be shown to change nothing."""
        from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
        from rasa.core.policies.ted_policy import TEDPolicy
        from rasa.shared.nlu.constants import TEXT

        target = processor.model_metadata.core_target
        runner = processor.graph_runner
        nodes = getattr(runner, "inner", runner)._instantiated_nodes
        schema = processor.model_metadata.predict_schema
        if not target or target not in schema.nodes:
            return None
        if type(nodes[target]._component) is not DefaultPolicyPredictionEnsemble:
            return None
        cheap: List[Tuple[str, str]] = []
        other: Dict[str, str] = {}
        skipped: List[int] = []
        for keyword, node_name in schema.nodes[target].needs.items():
            if node_name not in schema.nodes:   # a placeholder (the tracker)
                other[keyword] = node_name
                continue
            component = getattr(nodes.get(node_name), "_component", None)
            name = type(component).__name__
            if schema.nodes[node_name].fn != "predict_action_probabilities":
                other[keyword] = node_name
            elif name in CHEAP_POLICIES:
                cheap.append((keyword, node_name))
            elif type(component) is TEDPolicy and TEXT not in getattr(component, "fake_features", {TEXT: 1}):
                skipped.append(int(component.priority))
            else:
                log.info("dialogue fast path off: %s may make predictions it cannot rule out", name)
                return None
        if not cheap or not skipped:
            return None   # nothing to skip, or nothing that could decide alone
        return cls(processor, runner, target, cheap, other, max(skipped))

    def _decides(self, predictions: List[Any], tracker: Any) -> bool:
        from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected

        last_action = next((e for e in reversed(tracker.events)
                            if isinstance(e, (ActionExecutionRejected, ActionExecuted))), None)
        if isinstance(last_action, ActionExecutionRejected):
            return False   # the ensemble zeroes the rejected action in every prediction first
        if any(p.is_no_user_prediction or p.is_end_to_end_prediction for p in predictions):
            return True    # those outrank every prediction TED can make
        return any(p.max_confidence >= CERTAIN and p.policy_priority > self.skipped_priority
                   for p in predictions)

    def predict(self, tracker: Any) -> Any:
        from rasa.engine.constants import PLACEHOLDER_TRACKER

        inputs = {PLACEHOLDER_TRACKER: tracker}
        cheap_nodes = [node for _, node in self.cheap]
        needed = [node for node in self.other_inputs.values() if node not in inputs]
        results = {**inputs, **self.runner.run(inputs=inputs, targets=cheap_nodes + needed)}
        predictions = [results[node] for node in cheap_nodes]
        if self._decides(predictions, tracker):
            self.stats.fast += 1
            # The ensemble's own keywords, in its own order, without the skipped policies.
            kwargs = {keyword: results[node] for keyword, node in self.other_inputs.items()}
            kwargs.update({keyword: results[node] for keyword, node in self.cheap})
            return self.ensemble.combine_predictions_from_kwargs(**kwargs)
        self.stats.full += 1
        # The cheap policies' predictions stand in for their nodes: the graph computes only the rest.
        inputs.update({node: results[node] for node in cheap_nodes})
        return self.runner.run(inputs=inputs, targets=[self.target])[self.target]


def install(processor: Any) -> Optional[DialogueFastPath]:
    """Route the processor's next-action prediction through the fast path (when it is safe)."""
    fast = DialogueFastPath.for_processor(processor)
    if fast is None:
        return None
    rasa_predict = processor._predict_next_with_tracker

    def predict_next_with_tracker(tracker: Any) -> Any:
        if tracker.followup_action:
            return rasa_predict(tracker)   # Rasa's own handling of follow-up actions
        return fast.predict(tracker)

    processor._predict_next_with_tracker = predict_next_with_tracker
    processor._baton_fast_path = fast
    return fast
