"""Builtin checkpoint stores: ``memory`` (InMemorySaver) and ``sqlite`` (SqliteSaver)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from wtb_core.config import StackConfig
from wtb_core.engine.threads import SaverCheckpointStore
from wtb_core.errors import StorageError
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
