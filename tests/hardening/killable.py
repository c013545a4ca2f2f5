"""A workflow whose nodes a test can kill the process in (SIGKILL), for crash tests.

Each node appends its name to ``<state["dir"]>/calls`` before doing anything else, so the
test counts node runs across processes. ``<dir>/kill-at`` names the node that kills its
process (and is removed first, so the node runs normally next time).
"""

from __future__ import annotations

import operator
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph

from wtb_core import WorkflowProject, WTBTestBench
from wtb_core.config import ExecutionConfig


class KillState(TypedDict, total=False):
    dir: str
    log: Annotated[list[str], operator.add]


def _node(name: str):
    def node(state: KillState) -> dict[str, Any]:
        folder = Path(state["dir"])
        with open(folder / "calls", "a") as calls:
            calls.write(name + "\n")
        kill_at = folder / "kill-at"
        if kill_at.exists() and kill_at.read_text() == name:
            kill_at.unlink()
            os.kill(os.getpid(), signal.SIGKILL)
        return {"log": [name]}

    return node


def abc() -> StateGraph:
    builder = StateGraph(KillState)
    for name in "abc":
        builder.add_node(name, _node(name))
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    builder.add_edge("c", END)
    return builder


def project() -> WorkflowProject:
    # sync durability: every finished node's checkpoint is on disk before the next starts
    return WorkflowProject("abc", abc, execution=ExecutionConfig(durability="sync"))


if __name__ == "__main__":  # python -m tests.hardening.killable DATA_DIR DIR VERB [ID [CP]]
    data_dir, folder, verb, *rest = sys.argv[1:]
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        bench.register_project(project())
        if verb == "run":
            bench.run("abc", {"dir": folder}, breakpoints=rest or None)
        elif verb == "resume":
            bench.resume(rest[0])
        elif verb == "rollback-resume":
            bench.rollback(rest[0], rest[1])
            bench.resume(rest[0])
