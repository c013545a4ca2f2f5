"""The row reads and writes of hot paths, on SQLite, without SQLAlchemy's per-statement
cost.

A run inserts its execution row and updates it when it stops (a run given its id first
checks the id is free); a LangGraph API run reads its thread and writes its run record.
Through SQLAlchemy each statement costs ~0.3–0.4 ms of Python (pool checkout, the BEGIN
event, type processing) — a noticeable share of a fast workflow. Here they are prepared
SQL on one dedicated DBAPI connection per table, with values encoded and decoded exactly
as SQLAlchemy's SQLite types do (tests check the round trips). Everything else — and
every statement on other databases — goes through SQLAlchemy.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Table

from wtb_core.errors import StorageError
from wtb_core.storage.database import json_dumps, json_loads


def _encode_datetime(value: datetime | None) -> str | None:
    # SQLAlchemy's SQLite DATETIME storage format (the time zone is not stored).
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _decode_datetime(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _encoder(column_type: Any) -> Callable[[Any], Any] | None:
    if isinstance(column_type, JSON):
        return json_dumps
    if isinstance(column_type, DateTime):
        return _encode_datetime
    return None


def _decoder(column_type: Any) -> Callable[[Any], Any] | None:
    if isinstance(column_type, JSON):
        return lambda text: None if text is None else json_loads(text)
    if isinstance(column_type, DateTime):
        return _decode_datetime
    return None


class FastRows:
    """Inserts, updates and reads by key the rows of one table on a SQLite file
    (thread-safe); values read back as SQLAlchemy reads them.

    ``lock`` is the database's in-process write lock, shared with SQLAlchemy's writers.
    """

    def __init__(self, path: str, table: Table, lock: threading.Lock) -> None:
        self._path = path
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._table = table.name
        self._columns = [c.name for c in table.columns]
        self._encoders = {c.name: _encoder(c.type) for c in table.columns}
        self._decoders = [(c.name, _decoder(c.type)) for c in table.columns]
        self._key = next(c.name for c in table.columns if c.primary_key)
        self._insert = (
            f"INSERT OR IGNORE INTO {self._table} ({', '.join(self._columns)}) "
            f"VALUES ({', '.join('?' for _ in self._columns)})"
        )
        self._exists = f"SELECT 1 FROM {self._table} WHERE {self._key} = ?"
        self._get = f"SELECT {', '.join(self._columns)} FROM {self._table} WHERE {self._key} = ?"
        self._updates: dict[tuple[str, ...], str] = {}
        self._lock = lock

    def _encode(self, name: str, value: Any) -> Any:
        encode = self._encoders[name]
        return value if encode is None else encode(value)

    def insert(self, values: dict[str, Any]) -> bool:
        """Insert a row; ``False`` (a row with the same key already there is left as it
        is) when it exists."""
        row = tuple(self._encode(name, values.get(name)) for name in self._columns)
        return self._write(self._insert, row) == 1

    def exists(self, key: Any) -> bool:
        """Whether a row with primary key ``key`` is stored."""
        return self._read(self._exists, key) is not None

    def get(self, key: Any) -> dict[str, Any] | None:
        """The row with primary key ``key`` (column name → value), or ``None``."""
        found = self._read(self._get, key)
        if found is None:
            return None
        return {
            name: value if decode is None else decode(value)
            for (name, decode), value in zip(self._decoders, found, strict=True)
        }

    def _read(self, sql: str, key: Any) -> tuple[Any, ...] | None:
        with self._lock:
            try:
                row: tuple[Any, ...] | None = self._conn.execute(sql, (key,)).fetchone()
            except sqlite3.Error as exc:
                raise StorageError(f"metadata database {self._path} failed: {exc}") from exc
        return row

    def update(self, key: Any, fields: dict[str, Any]) -> int:
        """Set ``fields`` on the row ``key``; returns how many rows changed (0 or 1)."""
        names = tuple(fields)
        sql = self._updates.get(names)
        if sql is None:
            assignments = ", ".join(f"{name} = ?" for name in names)
            sql = f"UPDATE {self._table} SET {assignments} WHERE {self._key} = ?"
            self._updates[names] = sql
        return self._write(sql, (*(self._encode(n, fields[n]) for n in names), key))

    def _write(self, sql: str, parameters: tuple[Any, ...]) -> int:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    changed = self._conn.execute(sql, parameters).rowcount
                    self._conn.execute("COMMIT")
                except BaseException:
                    # SQLite may have rolled back already (SQLITE_FULL does): rolling back
                    # again would raise "no transaction is active" and hide the cause.
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StorageError(
                    f"metadata database {self._path} failed: {exc}. Check the disk has room "
                    "and that no other program holds the file locked"
                ) from exc
        return changed

    def close(self) -> None:
        self._conn.close()
