"""LangGraph's PostgresSaver made fit for many threads over a connection pool.

Upstream takes one lock around every cursor — needed for a single shared connection, but
with a pool it serialises all threads. With a pool each operation has a connection of its
own, so the lock is skipped. Writes are upserts, so an operation whose connection the
server dropped is retried once on a fresh connection from the pool.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import psycopg
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.postgres import PostgresSaver
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from wtb_core import StorageError
from wtb_core.plugin import BoxedFloat, StrictSerializer

T = TypeVar("T")


def _blobbed_non_finite(checkpoint: Any, serde: Any) -> Any:
    """Upstream keeps float channel values inline in the checkpoint's JSONB, which cannot
    hold NaN or infinity: such values go to the blobs table instead, boxed for WTB's strict
    serializer (which reads them back as floats), so they round-trip as on SQLite."""
    values = checkpoint["channel_values"]
    if not isinstance(serde, StrictSerializer) or not any(
        isinstance(v, float) and not math.isfinite(v) for v in values.values()
    ):
        return checkpoint
    boxed = {
        k: BoxedFloat(v) if isinstance(v, float) and not math.isfinite(v) else v
        for k, v in values.items()
    }
    return {**checkpoint, "channel_values": boxed}


class PooledPostgresSaver(PostgresSaver):
    """A ``PostgresSaver`` over a ``psycopg_pool.ConnectionPool``."""

    def __init__(self, pool: ConnectionPool[psycopg.Connection[DictRow]], **kwargs: Any) -> None:
        super().__init__(pool, **kwargs)
        self.pool = pool

    @contextlib.contextmanager
    def _cursor(self, *, pipeline: bool = False) -> Iterator[psycopg.Cursor[DictRow]]:
        with self._connection() as conn:
            if pipeline:
                with conn.pipeline(), conn.cursor(binary=True, row_factory=dict_row) as cur:
                    yield cur
            else:
                with conn.cursor(binary=True, row_factory=dict_row) as cur:
                    yield cur

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[DictRow]]:
        try:
            with self.pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise StorageError(
                f"no PostgreSQL connection for the checkpoint store within {self.pool.timeout:g} "
                f"s ({exc}): the server is unreachable or all {self.pool.max_size} pooled "
                "connections are busy. Raise StackConfig.pool_timeout / pool_size "
                "(WTB_POOL_TIMEOUT, WTB_POOL_SIZE) or check the server"
            ) from exc

    def _retry(self, operation: Callable[[], T]) -> T:
        try:
            return operation()
        except psycopg.OperationalError:
            self.pool.check()  # drop connections the server closed
            try:
                return operation()
            except psycopg.Error as exc:
                raise StorageError(
                    f"the PostgreSQL checkpoint store failed twice: {type(exc).__name__}: {exc}"
                ) from exc

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        checkpoint = _blobbed_non_finite(checkpoint, self.serde)
        put = super().put
        return self._retry(lambda: put(config, checkpoint, metadata, new_versions))

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        put_writes = super().put_writes
        return self._retry(lambda: put_writes(config, writes, task_id, task_path))

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        get_tuple = super().get_tuple
        return self._retry(lambda: get_tuple(config))
