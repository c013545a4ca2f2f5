"""Reading an execution's checkpoints back as ``Checkpoint`` objects.

``get_state_history`` is newest first and interleaves branches, so order is rebuilt from
``parent_config``: an execution's checkpoints are the lineage of its head.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from langgraph.types import StateSnapshot

from wtb_core.domain.models import Checkpoint, PendingInterrupt
from wtb_core.engine.threads import thread_config
from wtb_core.errors import CheckpointNotFoundError, StorageError

INTERNAL_NODES = frozenset({"__start__", "__end__"})


def snapshot_id(snapshot: StateSnapshot) -> str:
    return str(snapshot.config["configurable"]["checkpoint_id"])


def _parent_id(snapshot: StateSnapshot) -> str | None:
    if snapshot.parent_config is None:
        return None
    return snapshot.parent_config["configurable"].get("checkpoint_id")


def user_nodes(names: Any) -> tuple[str, ...]:
    return tuple(n for n in names if n not in INTERNAL_NODES)


def to_checkpoint(snapshot: StateSnapshot, parent: StateSnapshot | None) -> Checkpoint:
    source = (snapshot.metadata or {}).get("source", "loop")
    nodes: tuple[str, ...] = ()
    if parent is not None and source == "loop":
        nodes = user_nodes(task.name for task in parent.tasks)
    return Checkpoint(
        checkpoint_id=snapshot_id(snapshot),
        step=(snapshot.metadata or {}).get("step", -1),
        nodes=nodes,
        next=tuple(snapshot.next),  # as LangGraph says: ("__start__",) for the input
        created_at=datetime.fromisoformat(snapshot.created_at)
        if snapshot.created_at
        else datetime.fromtimestamp(0),
        values=dict(snapshot.values) if isinstance(snapshot.values, dict) else {},
        source=source,
        parent_checkpoint_id=_parent_id(snapshot),
    )


def list_checkpoints(
    graph: Any, thread_id: str, head: str | None, all_branches: bool = False
) -> list[Checkpoint]:
    """The head's lineage oldest first (every checkpoint of the thread with ``all_branches``)."""
    by_id = {snapshot_id(s): s for s in graph.get_state_history(thread_config(thread_id))}
    if all_branches or head is None:
        ordered = sorted(by_id.values(), key=snapshot_id)
    else:
        if head not in by_id:
            raise StorageError(
                f"head checkpoint {head!r} is missing from thread {thread_id!r}: the checkpoint "
                "store has lost it (restore the store from a backup, or delete the execution)"
            )
        ordered = []
        current: str | None = head
        while current is not None and current in by_id:
            ordered.append(by_id[current])
            current = _parent_id(by_id[current])
        ordered.reverse()
    return [to_checkpoint(s, by_id.get(_parent_id(s) or "")) for s in ordered]


def snapshot_at(graph: Any, thread_id: str, checkpoint_id: str) -> StateSnapshot:
    """The state snapshot of one checkpoint; ``CheckpointNotFoundError`` if the thread lacks it."""
    snapshot: StateSnapshot = graph.get_state(thread_config(thread_id, checkpoint_id))
    if snapshot.created_at is None:  # LangGraph's answer for a checkpoint it does not have
        raise CheckpointNotFoundError(
            f"checkpoint {checkpoint_id!r} does not belong to this execution (thread "
            f"{thread_id!r}); list its checkpoints with bench.get_checkpoints(execution_id) "
            "or `wtb checkpoints EXEC`"
        )
    return snapshot


def head_snapshot(graph: Any, thread_id: str, head: str, time_travel: bool) -> StateSnapshot:
    """What LangGraph shows at an execution's head.

    Normally the head is the thread's newest checkpoint and this is ``get_state`` of the
    thread: LangGraph's live view, where tasks of an unfinished step (a failure, an
    interrupt) that did finish have their writes applied and leave ``next``. A head chosen
    by time travel (rollback, fork) is read like ``get_state`` of that checkpoint.
    """
    if time_travel:
        try:
            return snapshot_at(graph, thread_id, head)
        except CheckpointNotFoundError:
            raise StorageError(
                f"the head checkpoint {head!r} of thread {thread_id!r} is missing from the "
                "checkpoint store: the store has lost it (restore it from a backup, or delete "
                "the execution; `wtb integrity` lists every such execution)"
            ) from None
    snapshot: StateSnapshot = graph.get_state(thread_config(thread_id))
    if snapshot.created_at is None:
        raise StorageError(
            f"thread {thread_id!r} has no checkpoint in the checkpoint store though the "
            f"execution's head is {head!r}: the store has lost it (restore it from a backup, "
            "or delete the execution; `wtb integrity` lists every such execution)"
        )
    return snapshot


def pending_interrupts(snapshot: StateSnapshot) -> tuple[PendingInterrupt, ...]:
    """``interrupt()`` calls of the snapshot's tasks still waiting for an answer.

    A task that has a result was answered and finished on a later branch (the snapshot is
    one a rollback went back to): its interrupt is not pending, though LangGraph still
    lists it; running the task again asks anew (``answered_interrupts``).
    """
    return tuple(
        PendingInterrupt(id=interrupt.id, node=task.name, value=interrupt.value)
        for task in snapshot.tasks
        if task.result is None
        for interrupt in task.interrupts
    )


def snapshot_fields(snapshot: StateSnapshot) -> dict[str, Any]:
    """The execution columns that mirror a checkpoint: its state, next nodes and open
    interrupts."""
    return {
        "state": dict(snapshot.values),
        "next_nodes": list(user_nodes(snapshot.next)),
        "interrupts": [i.model_dump() for i in pending_interrupts(snapshot)],
    }


def resting_status(snapshot: StateSnapshot) -> str:
    """The status of an execution resting at ``snapshot``: ``paused`` while something is
    left to run (LangGraph's ``next``, the input checkpoint's ``__start__`` included) or
    to answer, else ``completed``."""
    return "paused" if snapshot.next or pending_interrupts(snapshot) else "completed"


def answered_interrupts(snapshot: StateSnapshot) -> tuple[str, ...]:
    """The nodes of the snapshot whose ``interrupt()`` was answered on a later branch."""
    return tuple(
        task.name for task in snapshot.tasks if task.interrupts and task.result is not None
    )
