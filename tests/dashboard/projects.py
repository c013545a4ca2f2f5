"""The projects the dashboard tests serve (``wtb serve --project tests.dashboard.projects:…``)."""

from __future__ import annotations

import time
from typing import Any

from langgraph.graph import END, START, StateGraph

from tests import workflows
from wtb_core import WorkflowProject


def _linear() -> WorkflowProject:
    project = WorkflowProject("linear", workflows.linear)
    project.register_variant("generate", "echo", workflows.echo_answer)
    return project


linear = _linear()
human = WorkflowProject("human", workflows.human)
parallel = WorkflowProject("parallel", workflows.parallel)
fan_out = WorkflowProject("fan_out", workflows.fan_out)


def _napper() -> StateGraph:
    """Two nodes that sleep 0.15 s each: a batch whose progress can be watched."""

    def nap(name: str):
        def node(state: workflows.State) -> dict[str, Any]:
            time.sleep(0.15)
            return {"n": state.get("n", 0) + 1, "log": [name]}

        return node

    builder = StateGraph(workflows.State)
    builder.add_node("first", nap("first"))
    builder.add_node("second", nap("second"))
    builder.add_edge(START, "first")
    builder.add_edge("first", "second")
    builder.add_edge("second", END)
    return builder


napper = WorkflowProject("napper", _napper)
