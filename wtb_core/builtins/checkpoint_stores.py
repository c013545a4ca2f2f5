"""Builtin checkpoint stores: ``memory`` (InMemorySaver) and ``sqlite`` (SqliteSaver)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from wtb_core.config import StackConfig
from wtb_core.engine.threads import SaverCheckpointStore
from wtb_core.errors import CheckpointNotFoundError, StorageError
from wtb_core.hookspecs import CheckpointStoreRegister, hookimpl

if TYPE_CHECKING:
    from langgraph.checkpoint.serde.base import SerializerProtocol
    from langgraph.checkpoint.sqlite import SqliteSaver


class MemoryCheckpointStore(SaverCheckpointStore):
    """Checkpoints in this process's memory: gone when it exits. For tests."""

    name = "memory"

    def __init__(self, config: StackConfig | None = None) -> None:
        from langgraph.checkpoint.memory import InMemorySaver

        from wtb_core.serde import strict_serializer

        allowlist = config.serde_allowlist if config is not None else ()
        super().__init__(InMemorySaver(serde=strict_serializer(allowlist)))


def open_sqlite_saver(
    path: str, serde: SerializerProtocol | None = None, *, guarded: bool = False
) -> SqliteSaver:
    """A SqliteSaver usable from many threads: WAL, ``synchronous=NORMAL``, busy timeout.

    ``guarded``: SQLite errors (a damaged or truncated file, a full disk) become
    ``StorageError``s naming the file. The benchmark builds its bare-LangGraph baseline
    with this same function (unguarded, with LangGraph's default serializer).
    """
    from langgraph.checkpoint.sqlite import SqliteSaver

    try:
        conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        saver = (
            _guarded_saver_class()(conn, serde=serde) if guarded else SqliteSaver(conn, serde=serde)
        )
        saver.setup()
    except sqlite3.Error as exc:
        raise _file_error(path, exc) from exc
    return saver


def _file_error(path: str, exc: sqlite3.Error) -> StorageError:
    return StorageError(
        f"checkpoint file {path} cannot be used: {exc}. If it is damaged, restore it from a "
        "backup; its executions cannot be resumed or inspected until then"
    )


def _guarded_saver_class() -> type[SqliteSaver]:
    from langgraph.checkpoint.sqlite import SqliteSaver

    class GuardedSqliteSaver(SqliteSaver):
        """``SqliteSaver`` whose SQLite errors are ``StorageError``s naming its file."""

        path = ""

        @contextlib.contextmanager
        def cursor(self, transaction: bool = True) -> Iterator[sqlite3.Cursor]:
            try:
                with super().cursor(transaction) as cur:
                    yield cur
            except sqlite3.Error as exc:
                raise _file_error(self.path, exc) from exc

    return GuardedSqliteSaver


# The lineage of one root checkpoint (itself and its ancestors) in a SqliteSaver's tables.
_SQLITE_LINEAGE = """
WITH RECURSIVE lineage(checkpoint_id, parent_checkpoint_id) AS (
    SELECT checkpoint_id, parent_checkpoint_id FROM checkpoints
    WHERE thread_id = :src AND checkpoint_ns = '' AND checkpoint_id = :cp
    UNION ALL
    SELECT c.checkpoint_id, c.parent_checkpoint_id FROM checkpoints c
    JOIN lineage l ON c.checkpoint_id = l.parent_checkpoint_id
    WHERE c.thread_id = :src AND c.checkpoint_ns = ''
)
SELECT checkpoint_id FROM lineage
"""
_SQLITE_CONTINUED = """
SELECT EXISTS (SELECT 1 FROM checkpoints WHERE thread_id = :src AND checkpoint_ns = ''
               AND parent_checkpoint_id = :cp)
"""
# Which source checkpoints a copy takes: the lineage, and subgraph checkpoints made under it.
_SQLITE_TAKEN = """(
    (c.checkpoint_ns = '' AND c.checkpoint_id IN (SELECT value FROM json_each(:ids)))
    OR (c.checkpoint_ns <> ''
        AND json_extract(CAST(c.metadata AS TEXT), '$.parents.""')
            IN (SELECT value FROM json_each(:ids)))
)"""
_SQLITE_COPY_CHECKPOINTS = f"""
INSERT INTO checkpoints
    (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata)
SELECT :dst, c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id, c.type, c.checkpoint,
       c.metadata
FROM checkpoints c WHERE c.thread_id = :src AND {_SQLITE_TAKEN}
"""
_SQLITE_COPY_WRITES = f"""
INSERT INTO writes
    (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, value)
SELECT :dst, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.task_path, w.idx, w.channel,
       w.type, w.value
FROM writes w
JOIN checkpoints c ON c.thread_id = w.thread_id AND c.checkpoint_ns = w.checkpoint_ns
    AND c.checkpoint_id = w.checkpoint_id
WHERE w.thread_id = :src AND {_SQLITE_TAKEN}
AND NOT (:continued AND w.checkpoint_ns = '' AND w.checkpoint_id = :cp)
"""


class SqliteCheckpointStore(SaverCheckpointStore):
    """Checkpoints in ``<data_dir>/checkpoints.sqlite`` (the embedded default)."""

    name = "sqlite"

    @staticmethod
    def data_file(config: StackConfig) -> Path:
        return config.data_dir / "checkpoints.sqlite"

    def __init__(self, config: StackConfig) -> None:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_file(config)
        from wtb_core.serde import strict_serializer

        serde = strict_serializer(config.serde_allowlist)
        self._sqlite = open_sqlite_saver(str(self.path), serde, guarded=True)
        super().__init__(self._sqlite)

    def copy_thread(self, source_thread_id: str, target_thread_id: str, checkpoint_id: str) -> None:
        """Copy a checkpoint's lineage with set-based SQL in one transaction: the rows as
        the saver wrote them, no deserialising (the semantics of ``copy_lineage``)."""
        params = {"src": source_thread_id, "dst": target_thread_id, "cp": checkpoint_id}
        with self._sqlite.cursor() as cur:
            cur.execute(_SQLITE_LINEAGE, params)
            ids = [str(row[0]) for row in cur.fetchall()]
            if not ids:
                raise CheckpointNotFoundError(
                    f"checkpoint {checkpoint_id!r} is not in thread {source_thread_id!r}; list "
                    "the execution's checkpoints (bench.get_checkpoints / wtb checkpoints EXEC)"
                )
            cur.execute(_SQLITE_CONTINUED, params)
            continued = bool(cur.fetchone()[0])
            taken = {**params, "ids": json.dumps(ids), "continued": int(continued)}
            cur.execute(_SQLITE_COPY_CHECKPOINTS, taken)
            cur.execute(_SQLITE_COPY_WRITES, taken)

    def thread_ids(self) -> set[str]:
        with self._sqlite.cursor(transaction=False) as cur:
            cur.execute("SELECT DISTINCT thread_id FROM checkpoints")
            return {str(thread) for (thread,) in cur.fetchall()}

    def checkpoint_ids(self, thread_id: str) -> set[str]:
        with self._sqlite.cursor(transaction=False) as cur:
            cur.execute(
                "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ''",
                (thread_id,),
            )
            return {str(checkpoint) for (checkpoint,) in cur.fetchall()}

    def close(self) -> None:
        self._sqlite.conn.close()


@hookimpl
def wtb_register_checkpoint_stores(register: CheckpointStoreRegister) -> None:
    for store in (MemoryCheckpointStore, SqliteCheckpointStore):
        register(store.name, store)
