"""The metadata database: engine set-up, migrations, and transactions.

SQLite (embedded default) is tuned for many threads in one process: WAL, ``synchronous=
NORMAL``, a busy timeout, write transactions that start with ``BEGIN IMMEDIATE`` (so two
writers never dead-lock on a read-to-write upgrade) and an in-process write lock (so
threads queue in Python instead of spinning in SQLite's busy handler). Other databases
(PostgreSQL through wtb-postgres) use their own concurrency.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic_core import to_jsonable_python
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from wtb_core.errors import StorageError
from wtb_core.install_hints import install_command

MIGRATIONS = Path(__file__).parent / "migrations"
T = TypeVar("T")


def json_dumps(value: Any) -> str:
    """JSON for metadata columns: anything pydantic can render, ``repr`` for the rest, and
    non-finite floats as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (JSON has
    no such numbers, and PostgreSQL's JSONB refuses them; the typed value is kept by
    ``state_codec``)."""
    try:
        return json.dumps(value, allow_nan=False)  # the common case (plain data) at C speed
    except (TypeError, ValueError):
        return json.dumps(_finite(to_jsonable_python(value, fallback=repr)), allow_nan=False)


class UnreadableJSON(str):
    """The text of a JSON column that does not parse (a damaged or hand-edited row)."""


def json_loads(text: str) -> Any:
    """JSON column values, with text that does not parse kept as ``UnreadableJSON`` so one
    damaged row does not break every query that reads the column."""
    try:
        return json.loads(text)
    except ValueError:
        return UnreadableJSON(text)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _sqlite_engine(url: str) -> tuple[Engine, Engine]:
    memory = url in ("sqlite://", "sqlite:///:memory:")
    kwargs: dict[str, Any] = {
        "json_serializer": json_dumps,
        "json_deserializer": json_loads,
        "connect_args": {"check_same_thread": False, "timeout": 30},
    }
    if memory:
        kwargs["poolclass"] = StaticPool
    else:
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)

    def build(begin: str) -> Engine:
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            connection.exec_driver_sql(begin)

        return engine

    if memory:  # one shared connection: reads and writes must use the same engine
        engine = build("BEGIN IMMEDIATE")
        return engine, engine
    return build("BEGIN IMMEDIATE"), build("BEGIN")


def sqlalchemy_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` URLs use psycopg 3 (what wtb-postgres installs)."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


CONNECT_TIMEOUT_S = 5
RETRIES_ON_DISCONNECT = 3


class Database:
    """Engines and sessions of the metadata database; ``migrate()`` brings the schema up.

    Server databases get a connect timeout (an unreachable server fails in seconds, not
    minutes), pre-pinged pooled connections, and writes retried when the server dropped
    the connection under them (every write WTB makes is idempotent or checked first).
    """

    def __init__(self, url: str, pool_size: int = 10, pool_timeout: float = 30.0) -> None:
        self.url = sqlalchemy_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        # An in-memory SQLite database is one connection shared by every thread: reads must
        # take the write lock too, or they start a transaction inside a writer's.
        self._shared_connection = self.url in ("sqlite://", "sqlite:///:memory:")
        if self.is_sqlite:
            self.write_engine, self.read_engine = _sqlite_engine(self.url)
            self._write_lock: threading.Lock | None = threading.Lock()
        else:
            engine = create_engine(
                self.url,
                json_serializer=json_dumps,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_timeout=pool_timeout,
                pool_pre_ping=True,
                connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
            )
            self.write_engine = self.read_engine = engine
            self._write_lock = None
        self._write_sessions = sessionmaker(self.write_engine, expire_on_commit=False)
        self.sqlite_path = (
            None
            if not self.is_sqlite or self.url in ("sqlite://", "sqlite:///:memory:")
            else self.url.removeprefix("sqlite:///")
        )
        self._read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Apply every Alembic migration not yet applied (a no-op when up to date)."""
        from alembic import command
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        head = ScriptDirectory.from_config(config).get_current_head()
        try:
            with self.write(), self._lock_held_connection() as connection:
                if MigrationContext.configure(connection).get_current_revision() == head:
                    return
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except ModuleNotFoundError as exc:
            raise StorageError(
                f"the metadata database {self._display_url()} needs the driver {exc.name!r}: "
                f"for PostgreSQL, {install_command('checkpoint_store', 'postgres')}"
            ) from exc
        except SQLAlchemyError as exc:
            raise StorageError(
                f"could not migrate the metadata database {self._display_url()}: {exc}. "
                "Check that it is reachable and writable"
            ) from exc

    @contextlib.contextmanager
    def _lock_held_connection(self) -> Iterator[Any]:
        with self.write_engine.connect() as connection:
            yield connection
            connection.commit()

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        """Hold the in-process write lock (SQLite only) for the duration of the block."""
        if self._write_lock is None:
            yield
            return
        with self._write_lock:
            yield

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: committed at the end of the block, rolled back on error."""
        try:
            with self.write(), self._write_sessions() as session, session.begin():
                yield session
        except (DBAPIError, PoolTimeoutError) as exc:
            raise self._storage_error(exc) from exc

    def _storage_error(self, exc: DBAPIError | PoolTimeoutError) -> StorageError:
        cause = exc.orig if isinstance(exc, DBAPIError) else exc
        return StorageError(
            f"metadata database {self._display_url()} failed: {cause}. "
            "Check that it is reachable and that no other program holds it locked (a pool "
            "timeout: raise StackConfig.pool_timeout or pool_size)"
        )

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        """A write transaction on a plain Core connection (the cheapest path, for hot writes)."""
        try:
            with self.write(), self.write_engine.begin() as connection:
                yield connection
        except (DBAPIError, PoolTimeoutError) as exc:
            raise self._storage_error(exc) from exc

    def retrying(self, write: Callable[[], T]) -> T:
        """Run ``write`` (one whole transaction) again when the server dropped the connection
        under it; the pool replaces the dead connection. ``write`` must be idempotent."""
        attempts = 0
        while True:
            try:
                return write()
            except StorageError as exc:
                cause = exc.__cause__
                dropped = isinstance(cause, DBAPIError) and cause.connection_invalidated
                attempts += 1
                if not dropped or attempts > RETRIES_ON_DISCONNECT:
                    raise

    @contextlib.contextmanager
    def reader(self) -> Iterator[Session]:
        """A read-only session."""
        try:
            if self._shared_connection:
                with self.write(), self._read_sessions() as session:
                    yield session
                return
            with self._read_sessions() as session:
                yield session
        except (DBAPIError, PoolTimeoutError) as exc:
            raise self._storage_error(exc) from exc

    def _display_url(self) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)

    @property
    def write_lock(self) -> threading.Lock | None:
        """The in-process write lock (SQLite only), for writers outside SQLAlchemy."""
        return self._write_lock

    def close(self) -> None:
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A timestamp read back from the database, timezone-aware (SQLite hands back naive
    datetimes, stored as UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def insert_ignoring_duplicates(connection: Connection, table: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` in the connection's dialect (SQLite, PostgreSQL)."""
    if connection.dialect.name == "postgresql":
        return postgresql_insert(table).on_conflict_do_nothing()
    return sqlite_insert(table).on_conflict_do_nothing()
