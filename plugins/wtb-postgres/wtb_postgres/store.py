"""Checkpoint store ``postgres``: LangGraph's PostgresSaver over a psycopg 3 pool."""

from __future__ import annotations

import psycopg
from psycopg.rows import DictRow
from psycopg_pool import ConnectionPool, PoolTimeout

from wtb_core import CheckpointNotFoundError, StackConfig, StorageError
from wtb_core.plugin import strict_serializer
from wtb_postgres.saver import PooledPostgresSaver
from wtb_postgres.urls import describe, libpq_url

CONNECT_TIMEOUT_S = 5

# The lineage of one root checkpoint (itself and its ancestors).
_LINEAGE = """
WITH RECURSIVE lineage AS (
    SELECT checkpoint_id, parent_checkpoint_id FROM checkpoints
    WHERE thread_id = %(src)s AND checkpoint_ns = '' AND checkpoint_id = %(cp)s
    UNION ALL
    SELECT c.checkpoint_id, c.parent_checkpoint_id FROM checkpoints c
    JOIN lineage l ON c.checkpoint_id = l.parent_checkpoint_id
    WHERE c.thread_id = %(src)s AND c.checkpoint_ns = ''
)
SELECT array_agg(checkpoint_id) AS ids FROM lineage
"""

# Which source checkpoints a copy takes: the lineage, and subgraph checkpoints made under it.
_TAKEN = """(
    (c.checkpoint_ns = '' AND c.checkpoint_id = ANY(%(ids)s))
    OR (c.checkpoint_ns <> '' AND c.metadata -> 'parents' ->> '' = ANY(%(ids)s))
)"""

_COPY_CHECKPOINTS = f"""
INSERT INTO checkpoints
    (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata)
SELECT %(dst)s, c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id, c.type,
       c.checkpoint, c.metadata
FROM checkpoints c WHERE c.thread_id = %(src)s AND {_TAKEN}
"""

_COPY_BLOBS = f"""
INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
SELECT DISTINCT %(dst)s, b.checkpoint_ns, b.channel, b.version, b.type, b.blob
FROM checkpoint_blobs b
JOIN checkpoints c ON c.thread_id = b.thread_id AND c.checkpoint_ns = b.checkpoint_ns
JOIN LATERAL jsonb_each_text(c.checkpoint -> 'channel_versions') v
    ON v.key = b.channel AND v.value = b.version
WHERE b.thread_id = %(src)s AND {_TAKEN}
ON CONFLICT DO NOTHING
"""

_COPY_WRITES = f"""
INSERT INTO checkpoint_writes
    (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, blob)
SELECT %(dst)s, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.task_path, w.idx, w.channel,
       w.type, w.blob
FROM checkpoint_writes w
JOIN checkpoints c ON c.thread_id = w.thread_id AND c.checkpoint_ns = w.checkpoint_ns
    AND c.checkpoint_id = w.checkpoint_id
WHERE w.thread_id = %(src)s AND {_TAKEN}
AND NOT (%(continued)s AND w.checkpoint_ns = '' AND w.checkpoint_id = %(cp)s)
"""

_CONTINUED = """
SELECT EXISTS (SELECT 1 FROM checkpoints WHERE thread_id = %(src)s AND checkpoint_ns = ''
               AND parent_checkpoint_id = %(cp)s) AS continued
"""


class PostgresCheckpointStore:
    """Checkpoints in PostgreSQL (``StackConfig.database_url``), pool of ``pool_size``."""

    name = "postgres"

    def __init__(self, config: StackConfig) -> None:
        url = libpq_url(config.database_url)
        self.server = describe(url)
        self.pool: ConnectionPool[psycopg.Connection[DictRow]] = ConnectionPool(
            url,
            min_size=1,
            max_size=config.pool_size,
            timeout=config.pool_timeout,
            kwargs={
                "autocommit": True,
                "prepare_threshold": 0,
                "row_factory": psycopg.rows.dict_row,
                "connect_timeout": CONNECT_TIMEOUT_S,
            },
            check=ConnectionPool.check_connection,
            open=False,
            name="wtb-checkpoints",
        )
        try:
            self.pool.open(wait=True, timeout=CONNECT_TIMEOUT_S * 2)
        except PoolTimeout as exc:
            self.pool.close()
            raise StorageError(
                f"cannot connect to PostgreSQL at {self.server}: {_reason(url)}. Check that the "
                "server runs and that WTB_DATABASE_URL names a database and a user it accepts"
            ) from exc
        self._saver = PooledPostgresSaver(
            self.pool, serde=strict_serializer(config.serde_allowlist)
        )
        self._saver.setup()

    @property
    def saver(self) -> PooledPostgresSaver:
        return self._saver

    def copy_thread(self, source_thread_id: str, target_thread_id: str, checkpoint_id: str) -> None:
        """Copy a checkpoint's lineage with set-based SQL in one transaction (see the port)."""
        params = {"src": source_thread_id, "dst": target_thread_id, "cp": checkpoint_id}
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            ids = _only_row(cur.execute(_LINEAGE, params))["ids"]
            if not ids:
                raise CheckpointNotFoundError(
                    f"checkpoint {checkpoint_id!r} is not in thread {source_thread_id!r}; list "
                    "the execution's checkpoints (bench.get_checkpoints / wtb checkpoints EXEC)"
                )
            params["ids"] = ids
            params["continued"] = _only_row(cur.execute(_CONTINUED, params))["continued"]
            for statement in (_COPY_CHECKPOINTS, _COPY_BLOBS, _COPY_WRITES):
                cur.execute(statement, params)

    def delete_thread(self, thread_id: str) -> None:
        self._saver.delete_thread(thread_id)

    def thread_ids(self) -> set[str]:
        """Every thread holding a checkpoint (``ThreadInventory``)."""
        with self.pool.connection() as conn, conn.cursor() as cur:
            rows = cur.execute("SELECT DISTINCT thread_id FROM checkpoints").fetchall()
        return {str(row["thread_id"]) for row in rows}

    def checkpoint_ids(self, thread_id: str) -> set[str]:
        """The thread's root-namespace checkpoint ids (``ThreadInventory``)."""
        with self.pool.connection() as conn, conn.cursor() as cur:
            rows = cur.execute(
                "SELECT checkpoint_id FROM checkpoints WHERE thread_id = %s AND checkpoint_ns = ''",
                (thread_id,),
            ).fetchall()
        return {str(row["checkpoint_id"]) for row in rows}

    def close(self) -> None:
        self.pool.close()


def _only_row(cur: psycopg.Cursor[DictRow]) -> DictRow:
    """The row of a query that always has exactly one (an aggregate: array_agg, EXISTS)."""
    row = cur.fetchone()
    assert row is not None, "an aggregate query returns one row"
    return row


def _reason(url: str) -> str:
    """Why a direct connection fails (the pool only reports a timeout)."""
    try:
        psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S).close()
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]
    return "the pool timed out"
