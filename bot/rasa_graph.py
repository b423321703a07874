"""Runs the loaded model's graph the way Rasa's DaskGraphRunner does, minus the per-call planning.

Rasa's runner works out the minimal sub-graph for the requested targets and hands it to dask on
every call: three times a turn (parse, then each dialogue prediction), and under load that
planning was about a tenth of all Python time in the process. The sub-graph and its order depend
only on the targets, so they are worked out once per target set; the nodes are the same
`GraphNode` objects, called in a valid dependency order with the same inputs, so results are
Rasa's own. Like dask's runner, an input whose name is a node's name stands in for that node.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

Plan = List[Tuple[str, Tuple[str, ...]]]   # (node name, the names of what it needs), in run order


class PlannedGraphRunner:
    def __init__(self, runner: Any) -> None:
        self.inner = runner                          # the DaskGraphRunner the model was loaded with
        self._schema = runner._graph_schema
        self._nodes = runner._instantiated_nodes
        self._plans: Dict[Tuple[str, ...], Plan] = {}

    def plan(self, targets: Sequence[str]) -> Plan:
        key = tuple(targets)
        plan = self._plans.get(key)
        if plan is None:
            minimal = self._schema.minimal_graph_schema(list(targets))
            order: List[str] = []
            done: set = set()

            def visit(name: str) -> None:   # depth-first: every need before the node
                if name in done or name not in minimal.nodes:
                    return
                done.add(name)
                for need in minimal.nodes[name].needs.values():
                    visit(need)
                order.append(name)

            for name in minimal.nodes:
                visit(name)
            plan = [(name, tuple(minimal.nodes[name].needs.values())) for name in order]
            self._plans[key] = plan
        return plan

    def run(self, inputs: Optional[Dict[Text, Any]] = None,
            targets: Optional[List[Text]] = None) -> Dict[Text, Any]:
        from rasa.engine.exceptions import GraphRunError

        targets = list(targets or self._schema.target_names)
        # Every value travels as (producer name, output), the shape GraphNode takes and returns.
        values: Dict[str, Tuple[str, Any]] = {name: (name, value) for name, value in (inputs or {}).items()}
        try:
            for name, needs in self.plan(targets):
                if name not in values:
                    values[name] = self._nodes[name](*(values.get(need, need) for need in needs))
        except RuntimeError as exc:   # as DaskGraphRunner reports a failing node
            raise GraphRunError("Error running runner.") from exc
        return {target: values[target][1] for target in targets}

    def get_schema(self):
        return self.inner.get_schema()


def install(processor: Any) -> PlannedGraphRunner:
    """Swap the processor's graph runner for a planned one (idempotent)."""
    if not isinstance(processor.graph_runner, PlannedGraphRunner):
        processor.graph_runner = PlannedGraphRunner(processor.graph_runner)
    return processor.graph_runner
