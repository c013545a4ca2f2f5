"""``TimedSaver``: the checkpoint store's writes timed into ``wtb_checkpoint_write_seconds``.

The bench (and a batch runner's detached executor) compiles its graphs over
``TimedSaver(store.saver, store.name)`` when ``StackConfig.metrics`` is on, so every
``put`` and ``put_writes`` LangGraph makes — sync, or async through ``AsyncSaver`` — is
observed with labels ``store`` and ``operation``, whichever store plugin is configured.
The histogram lives in the process that writes: a Ray worker's writes are in that
worker's registry (scrape it in Prometheus multiprocess mode or through Ray's metrics),
unlike the execution and cell counts, which the driver counts from stored events.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
)

from wtb_core.engine.delegating_saver import DelegatingSaver
from wtb_core.telemetry import metrics
from wtb_core.telemetry.settings import SWITCHES


class TimedSaver(DelegatingSaver):
    """``wrapped`` with its ``put`` and ``put_writes`` timed (everything else delegated)."""

    def __init__(self, wrapped: BaseCheckpointSaver[Any], store: str) -> None:
        super().__init__(wrapped)
        self.store = store
        metrics.active().know_store(store)

    def rewrap(self, saver: BaseCheckpointSaver[Any]) -> TimedSaver:
        return TimedSaver(saver, self.store)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        started = time.perf_counter()
        try:
            return self.wrapped.put(config, checkpoint, metadata, new_versions)
        finally:
            self._observe("put", started)

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        started = time.perf_counter()
        try:
            self.wrapped.put_writes(config, writes, task_id, task_path)
        finally:
            self._observe("put_writes", started)

    def _observe(self, operation: str, started: float) -> None:
        if SWITCHES.metrics:
            recorder = metrics.active()
            recorder.checkpoint_write_child(self.store, operation).observe(
                time.perf_counter() - started
            )


def timed(saver: BaseCheckpointSaver[Any], store: str, enabled: bool) -> BaseCheckpointSaver[Any]:
    """``saver`` behind a ``TimedSaver`` when ``enabled`` (``StackConfig.metrics``)."""
    return TimedSaver(saver, store) if enabled else saver
