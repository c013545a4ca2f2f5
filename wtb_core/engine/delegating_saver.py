"""``DelegatingSaver``: a ``BaseCheckpointSaver`` whose sync methods are another saver's.

The base of the savers WTB puts in front of a store's saver (``AsyncSaver``, the metrics'
``TimedSaver``): a subclass overrides what it changes and inherits the rest.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from wtb_core.engine.threads import put_tuple


class DelegatingSaver(BaseCheckpointSaver[Any]):
    """Every sync method, ``serde`` (read and set), ``config_specs`` and
    ``get_next_version`` are ``wrapped``'s, except ``copy_thread``: LangGraph's savers
    (memory, SQLite, Postgres) have none, so unless the wrapped saver has its own, it is
    WTB's copy: every checkpoint of the source thread (all namespaces and branches, ids and
    parent links kept) with all its pending writes, replayed with ``put`` / ``put_writes``.
    ``with_allowlist`` puts the same delegate (``rewrap``) in front of the wrapped saver's
    clone. Async methods are ``BaseCheckpointSaver``'s unless a subclass gives them."""

    def __init__(self, wrapped: BaseCheckpointSaver[Any]) -> None:
        # No BaseCheckpointSaver.__init__: it would give the delegate a serde of its own.
        self.wrapped = wrapped

    def rewrap(self, saver: BaseCheckpointSaver[Any]) -> DelegatingSaver:
        """This delegate in front of ``saver`` instead."""
        return type(self)(saver)

    @property
    def serde(self) -> SerializerProtocol:
        return self.wrapped.serde

    @serde.setter
    def serde(self, value: SerializerProtocol) -> None:
        self.wrapped.serde = value

    @property
    def config_specs(self) -> list[Any]:
        return self.wrapped.config_specs

    def get_next_version(self, current: Any, channel: None) -> Any:
        return self.wrapped.get_next_version(current, channel)

    def with_allowlist(self, extra_allowlist: Collection[tuple[str, ...]]) -> DelegatingSaver:
        clone = self.wrapped.with_allowlist(extra_allowlist)
        return self if clone is self.wrapped else self.rewrap(clone)

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.wrapped.get_tuple(config)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        return self.wrapped.list(config, filter=filter, before=before, limit=limit)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self.wrapped.put(config, checkpoint, metadata, new_versions)

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self.wrapped.put_writes(config, writes, task_id, task_path)

    def delete_thread(self, thread_id: str) -> None:
        self.wrapped.delete_thread(thread_id)

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        self.wrapped.delete_for_runs(run_ids)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """LangGraph's whole-thread copy (the fork port copies one lineage: copy_lineage)."""
        if type(self.wrapped).copy_thread is not BaseCheckpointSaver.copy_thread:
            self.wrapped.copy_thread(source_thread_id, target_thread_id)
            return
        source = self.wrapped.list({"configurable": {"thread_id": source_thread_id}})
        for tup in reversed([*source]):  # newest first: put parents before children
            put_tuple(self.wrapped, target_thread_id, tup, keep_writes=True)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        self.wrapped.prune(thread_ids, strategy=strategy)

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return self.wrapped.get_delta_channel_history(config=config, channels=channels)
