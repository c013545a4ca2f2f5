"""Checkpoint store port: a LangGraph saver plus the thread operations WTB needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from wtb_core.config import StackConfig


@runtime_checkable
class CheckpointStore(Protocol):
    """Where checkpoints live. One store serves every execution of a bench.

    Contract (checked by ``wtb_core.testing.CheckpointStoreContract``):

    * ``saver`` is a LangGraph checkpointer safe to use from several threads at once.
    * ``copy_thread(src, dst, checkpoint_id)`` makes thread ``dst`` hold the lineage of
      ``checkpoint_id`` in ``src`` — that checkpoint and all its ancestors, with their
      pending writes and parent links, under the same checkpoint ids — and nothing else.
      The writes of ``checkpoint_id`` itself are copied only if ``src`` did not go on from
      it (an interrupt or failure in flight). ``src`` is not changed. Raises
      ``CheckpointNotFoundError`` if the checkpoint is not in ``src``.
    * ``delete_thread(thread_id)`` removes every checkpoint and write of the thread.
    * ``close()`` releases connections; the store is not used afterwards.
    """

    name: str

    @property
    def saver(self) -> BaseCheckpointSaver[Any]: ...

    def copy_thread(
        self, source_thread_id: str, target_thread_id: str, checkpoint_id: str
    ) -> None: ...

    def delete_thread(self, thread_id: str) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class ThreadInventory(Protocol):
    """What a checkpoint store may add so ``wtb integrity`` need not read every checkpoint:
    ``thread_ids()`` — every thread holding a checkpoint; ``checkpoint_ids(thread_id)`` —
    the ids of the thread's root-namespace checkpoints. Stores without it are read through
    their saver (``wtb_core.engine.threads``); the builtin stores and wtb-postgres answer
    with one query each."""

    def thread_ids(self) -> set[str]: ...

    def checkpoint_ids(self, thread_id: str) -> set[str]: ...


CheckpointStoreFactory = Callable[["StackConfig"], CheckpointStore]
"""What ``wtb_register_checkpoint_stores`` registers: called once per stack."""
