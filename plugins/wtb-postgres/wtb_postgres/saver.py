"""LangGraph's PostgresSaver made fit for many threads over a connection pool.

Upstream takes one lock around every cursor — needed for a single shared connection, but
with a pool it serialises all threads. With a pool each operation has a connection of its
own, so the lock is skipped. Writes are upserts, so an operation whose connection the
server dropped is retried once on a fresh connection from the pool.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import psycopg
from langgraph.checkpoint.postgres import PostgresSaver
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

T = TypeVar("T")


class PooledPostgresSaver(PostgresSaver):
    """A ``PostgresSaver`` over a ``psycopg_pool.ConnectionPool``."""

    def __init__(self, pool: ConnectionPool, **kwargs: Any) -> None:
        super().__init__(pool, **kwargs)
        self.pool = pool

    @contextlib.contextmanager
    def _cursor(self, *, pipeline: bool = False) -> Iterator[psycopg.Cursor[DictRow]]:
        with self.pool.connection() as conn:
            if pipeline:
                with conn.pipeline(), conn.cursor(binary=True, row_factory=dict_row) as cur:
                    yield cur
            else:
                with conn.cursor(binary=True, row_factory=dict_row) as cur:
                    yield cur

    def _retry(self, operation: Callable[[], T]) -> T:
        try:
            return operation()
        except psycopg.OperationalError:
            self.pool.check()  # drop connections the server closed
            return operation()

    def put(self, config, checkpoint, metadata, new_versions):
        parent = super()
        return self._retry(lambda: parent.put(config, checkpoint, metadata, new_versions))

    def put_writes(self, config, writes, task_id, task_path=""):
        parent = super()
        return self._retry(lambda: parent.put_writes(config, writes, task_id, task_path))

    def get_tuple(self, config):
        parent = super()
        return self._retry(lambda: parent.get_tuple(config))
