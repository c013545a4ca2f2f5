"""``AsyncSaver``: the async half of ``BaseCheckpointSaver`` for a saver that has only the sync one.

WTB's savers are sync (``SqliteSaver`` has no async methods; ``PooledPostgresSaver`` is a sync
``PostgresSaver``). A graph driven with ``astream`` / ``ainvoke`` needs the async methods, so
``AsyncSaver`` runs the wrapped saver's sync methods in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)

from wtb_core.engine.delegating_saver import DelegatingSaver


class AsyncSaver(DelegatingSaver):
    """A ``BaseCheckpointSaver`` whose async methods run the wrapped saver's sync ones.

    Contract:

    - Every sync method is the wrapped saver's (``DelegatingSaver``).
    - Every async method (``aget_tuple``, ``alist``, ``aput``, ``aput_writes``,
      ``adelete_thread``, ``adelete_for_runs``, ``acopy_thread``, ``aprune``,
      ``aget_delta_channel_history``) runs its sync counterpart with ``asyncio.to_thread``,
      even when the wrapped saver has native async methods. ``alist`` drains the sync
      iterator in one thread call before yielding, so the saver's cursor, lock or pooled
      connection is released before the caller sees the first tuple (memory is O(result)).
    - ``serde``, ``config_specs`` and ``get_next_version`` are the wrapped saver's;
      ``with_allowlist`` wraps the wrapped saver's clone, since that saver does the decoding.
    - A method the wrapped saver lacks (e.g. ``delete_for_runs``, ``prune`` on
      ``InMemorySaver``) raises its ``NotImplementedError``.
    - Calls may run in several worker threads at once: the wrapped saver must be thread-safe
      as it is for WTB's thread-pool runner (``SqliteSaver`` locks, ``PostgresSaver`` pools).
    """

    # The async methods: the sync ones in a worker thread.

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await asyncio.to_thread(self.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        def drain() -> tuple[CheckpointTuple, ...]:
            return tuple(self.list(config, filter=filter, before=before, limit=limit))

        for tup in await asyncio.to_thread(drain):
            yield tup

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await asyncio.to_thread(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await asyncio.to_thread(self.delete_thread, thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await asyncio.to_thread(self.delete_for_runs, run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await asyncio.to_thread(self.copy_thread, source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await asyncio.to_thread(self.prune, thread_ids, strategy=strategy)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return await asyncio.to_thread(
            self.get_delta_channel_history, config=config, channels=channels
        )
