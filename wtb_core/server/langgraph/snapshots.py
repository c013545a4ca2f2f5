"""LangGraph's ``StateSnapshot`` as the Agent Server's ``ThreadState``.

An execution's LangGraph thread is ``wtb-<execution id>``; the client knows the API's
thread id. Every checkpoint in an answer names the API's thread, and a checkpoint the
client hands back may name either (``checkpoint_id_of``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from langgraph.types import StateSnapshot

from wtb_core.server.langgraph.context import LangGraphApi
from wtb_core.server.langgraph.encoding import jsonable, with_thread
from wtb_core.server.langgraph.mapping import (
    ThreadView,
    UnsupportedRequestError,
    thread_metadata,
    thread_status,
)
from wtb_core.server.langgraph.models import (
    Checkpoint,
    CheckpointRef,
    Interrupt,
    Thread,
    ThreadState,
    ThreadTask,
)
from wtb_core.storage.database import as_utc, utcnow


def checkpoint_of(config: Any, view: ThreadView) -> Checkpoint | None:
    """The ``Checkpoint`` a LangGraph config addresses (``None`` without a checkpoint id)."""
    configurable = (config or {}).get("configurable") or {}
    if not configurable.get("checkpoint_id"):
        return None
    thread = configurable.get("thread_id")
    return Checkpoint(
        thread_id=view.thread_id if thread in (None, view.own_thread) else str(thread),
        checkpoint_ns=configurable.get("checkpoint_ns") or "",
        checkpoint_id=str(configurable["checkpoint_id"]),
        checkpoint_map=jsonable(configurable["checkpoint_map"])
        if "checkpoint_map" in configurable
        else None,
    )


def interrupts_of(interrupts: Iterable[Any]) -> list[Interrupt]:
    return [Interrupt(value=jsonable(i.value), id=str(i.id)) for i in interrupts]


def _error(error: Any) -> str | None:
    if error is None:
        return None
    if isinstance(error, BaseException):
        return f"{type(error).__name__}: {error}"
    return str(error)


def _task(task: Any, view: ThreadView) -> ThreadTask:
    state = task.state
    nested = isinstance(state, StateSnapshot)
    return ThreadTask(
        id=task.id,
        name=task.name,
        path=jsonable(task.path),
        error=_error(task.error),
        interrupts=interrupts_of(task.interrupts),
        checkpoint=_task_checkpoint(state, view) if state is not None and not nested else None,
        state=thread_state(state, view) if nested else None,
        result=jsonable(task.result),
    )


def _task_checkpoint(config: Any, view: ThreadView) -> Checkpoint:
    """A subgraph task's checkpoint (its namespace; no id until it ran)."""
    configurable = dict((config or {}).get("configurable") or {})
    return Checkpoint(
        thread_id=view.thread_id,
        checkpoint_ns=configurable.get("checkpoint_ns") or "",
        checkpoint_id=configurable.get("checkpoint_id"),
        checkpoint_map=jsonable(configurable.get("checkpoint_map")),
    )


def thread_state(snapshot: StateSnapshot, view: ThreadView) -> ThreadState:
    """``snapshot`` (of ``view``'s execution) as a ``ThreadState``."""
    checkpoint = checkpoint_of(snapshot.config, view) or Checkpoint(thread_id=view.thread_id)
    parent = checkpoint_of(snapshot.parent_config, view)
    tasks = [_task(task, view) for task in snapshot.tasks]
    return ThreadState(
        values=jsonable(snapshot.values),
        next=list(snapshot.next),
        checkpoint=checkpoint,
        metadata=with_thread(jsonable(snapshot.metadata or {}), view.own_thread, view.thread_id),
        created_at=snapshot.created_at,
        parent_checkpoint=parent,
        tasks=tasks,
        interrupts=[i for task in tasks for i in task.interrupts],
        checkpoint_id=checkpoint.checkpoint_id,
        parent_checkpoint_id=parent.checkpoint_id if parent is not None else None,
    )


def empty_state(view: ThreadView) -> ThreadState:
    """A thread without a checkpoint: no values, nothing next, a checkpoint without id and
    empty metadata (so ``RemoteGraph.get_state`` can read it)."""
    return ThreadState(
        values={}, next=[], checkpoint=Checkpoint(thread_id=view.thread_id), metadata={}
    )


def checkpoint_id_of(ref: CheckpointRef | str | None, view: ThreadView) -> str | None:
    """The checkpoint id a client's checkpoint (or bare id) names; refuses one of another
    thread or of a subgraph."""
    if ref is None or isinstance(ref, str):
        return ref
    if ref.thread_id not in (None, view.thread_id, view.own_thread):
        raise UnsupportedRequestError(
            f"checkpoint.thread_id {ref.thread_id!r} is not thread {view.thread_id!r}; pass "
            "a checkpoint of this thread (or leave thread_id out)"
        )
    if ref.checkpoint_ns:
        raise UnsupportedRequestError(
            f"checkpoint_ns {ref.checkpoint_ns!r} addresses a subgraph; this server serves the "
            'root graph\'s checkpoints only (checkpoint_ns "")'
        )
    return ref.checkpoint_id


def render_thread(api: LangGraphApi, view: ThreadView) -> Thread:
    """``view`` as a ``Thread``: status and values from its execution, ``interrupts`` by
    task id from the snapshot at its head (read only while it waits at one)."""
    execution = view.execution
    stored = view.stored
    created = stored.created_at if stored is not None else None
    updated = stored.updated_at if stored is not None else None
    interrupts: dict[str, list[Interrupt]] = {}
    state_updated = None
    if execution is not None:
        state_updated = as_utc(execution.updated_at) if execution.updated_at else None
        created = created or (as_utc(execution.created_at) if execution.created_at else None)
        moments = [t for t in (updated, state_updated) if t is not None]
        updated = max(moments) if moments else None
        if execution.interrupts:
            snapshot = api.services.inspection.snapshot(view.execution_id)
            for task in snapshot.tasks if snapshot is not None else ():
                if task.interrupts and task.result is None:
                    interrupts[task.id] = interrupts_of(task.interrupts)
    now = utcnow()
    return Thread(
        thread_id=view.thread_id,
        created_at=created or now,
        updated_at=updated or created or now,
        state_updated_at=state_updated,
        metadata=thread_metadata(view),
        status=thread_status(execution),
        values=jsonable(execution.state) if execution is not None else None,
        interrupts=interrupts,
        error=execution.error if execution is not None else None,
    )
