"""Builtin checkpoint stores: ``memory`` (InMemorySaver) and ``sqlite`` (SqliteSaver)."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from wtb_core.checkpoint_stores import SaverCheckpointStore
from wtb_core.config import StackConfig
from wtb_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from langgraph.checkpoint.sqlite import SqliteSaver


class MemoryCheckpointStore(SaverCheckpointStore):
    """Checkpoints in this process's memory: gone when it exits. For tests."""

    name = "memory"

    def __init__(self, config: StackConfig | None = None) -> None:
        from langgraph.checkpoint.memory import InMemorySaver

        super().__init__(InMemorySaver())


def open_sqlite_saver(path: str) -> SqliteSaver:
    """A SqliteSaver usable from many threads: WAL, ``synchronous=NORMAL``, busy timeout.

    The benchmark builds its bare-LangGraph baseline with this same function.
    """
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    saver = SqliteSaver(conn)
    saver.setup()
    return saver


class SqliteCheckpointStore(SaverCheckpointStore):
    """Checkpoints in ``<data_dir>/checkpoints.sqlite`` (the embedded default)."""

    name = "sqlite"

    def __init__(self, config: StackConfig) -> None:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = config.data_dir / "checkpoints.sqlite"
        super().__init__(open_sqlite_saver(str(self.path)))

    def close(self) -> None:
        self.saver.conn.close()


@hookimpl
def wtb_register_checkpoint_stores(register):
    register("memory", MemoryCheckpointStore)
    register("sqlite", SqliteCheckpointStore)
