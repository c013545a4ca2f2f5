"""Threads of a LangGraph saver: addressing one (``thread_config``), a checkpoint's lineage
in it, and copying checkpoints between threads — the machinery of checkpoint-store adapters
built on a saver, which the engine, forks and ``AsyncSaver`` use too.

``SaverCheckpointStore`` implements the ``CheckpointStore`` port for any saver: it copies a
thread's lineage with the saver's own ``list`` / ``put`` / ``put_writes`` (LangGraph has no
``copy_thread`` for SQLite or memory). Stores with direct database access (wtb-postgres)
override ``copy_thread`` with set-based SQL.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from wtb_core.errors import CheckpointNotFoundError

if TYPE_CHECKING:  # LangGraph is imported by whoever builds a saver, not by this module
    from langchain_core.runnables import RunnableConfig
    from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple

    Saver = BaseCheckpointSaver[Any]


def thread_config(thread_id: str, checkpoint_id: str | None = None, ns: str = "") -> RunnableConfig:
    """A LangGraph config addressing a thread (and optionally one checkpoint of it)."""
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ns}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def _parent_id(tup: CheckpointTuple) -> str | None:
    if tup.parent_config is None:
        return None
    return tup.parent_config["configurable"].get("checkpoint_id")


def _root_tuples(saver: Saver, thread_id: str) -> dict[str, CheckpointTuple]:
    return {
        tup.config["configurable"]["checkpoint_id"]: tup
        for tup in saver.list(thread_config(thread_id))
    }


def lineage(saver: Saver, thread_id: str, checkpoint_id: str) -> list[CheckpointTuple]:
    """The root-namespace checkpoint ``checkpoint_id`` and its ancestors, oldest first."""
    return _chain(_root_tuples(saver, thread_id), thread_id, checkpoint_id)


def _chain(
    by_id: dict[str, CheckpointTuple], thread_id: str, checkpoint_id: str
) -> list[CheckpointTuple]:
    if checkpoint_id not in by_id:
        raise CheckpointNotFoundError(
            f"checkpoint {checkpoint_id!r} is not in thread {thread_id!r}; "
            "list the execution's checkpoints (bench.get_checkpoints / wtb checkpoints EXEC)"
        )
    chain: list[CheckpointTuple] = []
    current: str | None = checkpoint_id
    while current is not None and current in by_id:
        chain.append(by_id[current])
        current = _parent_id(by_id[current])
    chain.reverse()
    return chain


def copy_lineage(
    saver: Saver, source_thread_id: str, target_thread_id: str, checkpoint_id: str
) -> None:
    """Copy ``checkpoint_id``'s lineage (with writes and subgraph checkpoints) to another thread.

    Checkpoint ids and parent links are kept, so the copy answers ``get_state_history`` like
    the source did up to that checkpoint. The pending writes of ``checkpoint_id`` itself are
    copied only when it is the end of its branch (work in flight: an ``interrupt()``, a
    failed or partly finished step); when the source went on from it, those writes belong
    to the source's continuation and the copy runs that step afresh.
    """
    by_id = _root_tuples(saver, source_thread_id)
    chain = _chain(by_id, source_thread_id, checkpoint_id)
    continued = any(_parent_id(tup) == checkpoint_id for tup in by_id.values())
    chain_ids = {tup.config["configurable"]["checkpoint_id"] for tup in chain}
    nested = [
        tup
        for tup in saver.list({"configurable": {"thread_id": source_thread_id}})
        if tup.config["configurable"].get("checkpoint_ns", "")
        and (tup.metadata or {}).get("parents", {}).get("") in chain_ids
    ]
    nested.reverse()  # list() is newest first; write parents before children
    for tup in [*chain, *nested]:
        keep_writes = not (continued and tup is chain[-1])
        put_tuple(saver, target_thread_id, tup, keep_writes)


def put_tuple(saver: Saver, target_thread_id: str, tup: CheckpointTuple, keep_writes: bool) -> None:
    """Write ``tup`` (same id, parent link and namespace) into another thread, with its
    pending writes when ``keep_writes``."""
    ns = tup.config["configurable"].get("checkpoint_ns", "")
    checkpoint_id = tup.config["configurable"]["checkpoint_id"]
    saver.put(
        thread_config(target_thread_id, _parent_id(tup), ns),
        tup.checkpoint,
        tup.metadata,
        dict(tup.checkpoint["channel_versions"]),
    )
    writes_by_task: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for task_id, channel, value in (tup.pending_writes or ()) if keep_writes else ():
        writes_by_task[task_id].append((channel, value))
    for task_id, writes in writes_by_task.items():
        saver.put_writes(thread_config(target_thread_id, checkpoint_id, ns), writes, task_id)


def saver_thread_ids(saver: Saver) -> set[str]:
    """Every thread holding a checkpoint, read through the saver (every checkpoint is
    listed: stores that can ask their database directly do so instead)."""
    return {str(tup.config["configurable"]["thread_id"]) for tup in saver.list(None)}


def saver_checkpoint_ids(saver: Saver, thread_id: str) -> set[str]:
    """The ids of a thread's root-namespace checkpoints, read through the saver."""
    return set(_root_tuples(saver, thread_id))


class SaverCheckpointStore:
    """A ``CheckpointStore`` (and ``ThreadInventory``) over any LangGraph saver."""

    name = "saver"

    def __init__(self, saver: Saver) -> None:
        self._saver = saver

    @property
    def saver(self) -> Saver:
        return self._saver

    def copy_thread(self, source_thread_id: str, target_thread_id: str, checkpoint_id: str) -> None:
        copy_lineage(self._saver, source_thread_id, target_thread_id, checkpoint_id)

    def delete_thread(self, thread_id: str) -> None:
        self._saver.delete_thread(thread_id)

    def thread_ids(self) -> set[str]:
        return saver_thread_ids(self._saver)

    def checkpoint_ids(self, thread_id: str) -> set[str]:
        return saver_checkpoint_ids(self._saver, thread_id)

    def close(self) -> None:
        """Nothing to release for an in-process saver."""
