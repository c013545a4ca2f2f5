"""The stored event log (``audit_events``; its id is the stream's ``seq``): ordered reads,
ids that never repeat or commit out of order, batch events, the bus's stored notice."""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text

from tests import workflows
from tests.conftest import register
from tests.test_detached import RunnerPlugin
from wtb_core import StackConfig, WTBTestBench
from wtb_core.storage import event_log as event_log_module
from wtb_core.storage.database import MIGRATIONS, Database
from wtb_core.storage.metadata import MetadataStore

SERVER = os.environ.get("WTB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


def _row(execution_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "execution_id": execution_id,
        "project": fields.pop("project", "p"),
        "timestamp": datetime.now(UTC),
        "event_type": "node_completed",
        "severity": "info",
        "node": None,
        "checkpoint_id": None,
        "message": "",
        "data": {},
        "batch_id": fields.pop("batch_id", None),
        **fields,
    }


def _ids(store: MetadataStore, since: int = 0, **filters: Any) -> list[int]:
    return [r.id for r in store.events_since(since, 10_000, **filters)]


@pytest.fixture
def store(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'meta.sqlite'}")
    db.migrate()
    yield MetadataStore(db)
    db.close()


def test_events_since_reads_in_seq_order_with_filters_and_bounds(store):
    seqs = store.append_events(
        [
            _row("e1", project="a"),
            _row("e2", project="b", batch_id="b1"),
            _row("", project="b", batch_id="b1", event_type="batch_progress"),
            _row("e1", project="a"),
            _row("e3", project="c"),
        ]
    )
    assert seqs == [1, 2, 3, 4, 5] and store.last_event_seq() == 5
    assert _ids(store) == [1, 2, 3, 4, 5]
    assert _ids(store, since=3) == [4, 5]
    assert _ids(store, executions=["e1"]) == [1, 4]
    assert _ids(store, batches=["b1"]) == [2, 3]
    assert _ids(store, projects=["c"]) == [5]
    assert _ids(store, executions=["e1"], projects=["c"]) == [1, 4, 5]  # any of them
    assert _ids(store, executions=[]) == []
    assert [r.id for r in store.events_since(0, 2)] == [1, 2]
    assert [r.id for r in store.events_since(1, 10, until=3)] == [2, 3]
    assert store.events_since(0, 10, batches=["b1"])[1].event_type == "batch_progress"
    with store.db.connection() as connection:  # the newest rows deleted: their ids stay used
        connection.execute(text("DELETE FROM audit_events WHERE id >= 4"))
    assert store.append_events([_row("e4")]) == []  # ids not known for sure: read the log
    assert _ids(store, since=3) == [6]
    assert store.append_events([_row("e5"), _row("e5")]) == [7, 8]


def test_seqs_never_repeat_after_the_newest_events_are_deleted(data_dir):
    """SQLite hands out the highest deleted rowid again unless the table is AUTOINCREMENT;
    a client that saw the deleted events would then miss the new ones."""
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        project = register(bench, workflows.linear)
        bench.run(project, {"query": "a"})
        newest = bench.run(project, {"query": "b"})
        bench.services.events.flush()
        top = bench.stack.metadata.last_event_seq()
        bench.delete_execution(newest.execution_id)
        again = bench.run(project, {"query": "c"})
        bench.services.events.flush()
        ids = _ids(bench.stack.metadata, executions=[again.execution_id])
        assert min(ids) > top
        url = bench.config.metadata_url()

    # A data dir made before migration 0007 gets the same guarantee, and keeps its ids.
    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
        connection.commit()
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        register(bench, workflows.linear)
        store = bench.stack.metadata
        before = _ids(store)
        assert before[-1] == max(ids)
        bench.delete_execution(again.execution_id)
        last = bench.run("linear", {"query": "d"})
        bench.services.events.flush()
        assert min(_ids(store, executions=[last.execution_id])) > max(ids)
    with engine.connect() as connection:
        sql = connection.execute(
            text("SELECT sql FROM sqlite_master WHERE name = 'audit_events'")
        ).scalar()
        assert "AUTOINCREMENT" in sql
    engine.dispose()


def test_the_bus_hands_out_committed_rows_with_their_seqs(store):
    from wtb_core.domain.events import Event, EventType
    from wtb_core.engine.events import EventBus, in_batch
    from wtb_core.registry import PluginRegistry

    bus = EventBus(PluginRegistry(load_entrypoints=False), store, interval=0.01)
    seen: list[list[tuple[int, dict[str, Any]]]] = []
    visible: list[list[int]] = []

    def stored(rows: list[tuple[int, dict[str, Any]]]) -> None:
        seen.append(rows)
        visible.append(_ids(store))  # committed before the notice

    remove = bus.on_stored(stored)
    bus.publish(Event(type=EventType.NODE_STARTED, execution_id="e", project="p", node="a"))
    with in_batch("b7"):
        bus.publish(Event(type=EventType.NODE_COMPLETED, execution_id="e", project="p"))
    bus.flush()
    remove()
    bus.publish(Event(type=EventType.EXECUTION_COMPLETED, execution_id="e", project="p"))
    bus.close()
    assert [[seq for seq, _ in rows] for rows in seen] == [[1, 2]]
    assert visible == [[1, 2]]
    assert [row["batch_id"] for _, row in seen[0]] == [None, "b7"]
    assert [r.batch_id for r in store.events_since(0, 10)] == [None, "b7", None]
    with pytest.raises(ValueError, match="positive"):
        bus.interval = 0


def _batch_log(bench: WTBTestBench, batch_id: str) -> list[Any]:
    bench.services.events.flush()
    return bench.stack.metadata.events_since(0, 10_000, batches=[batch_id])


def test_a_batch_logs_its_progress_and_tags_its_cells_events(bench):
    register(bench, workflows.picky, "picky")
    cases = [{"query": q} for q in ("a", "bad", "b")]
    batch = bench.run_batch_test("picky", [{}], cases, runner="threadpool", parallelism=2)
    log = _batch_log(bench, batch.batch_id)
    own = [r for r in log if r.execution_id == ""]
    assert [r.event_type for r in own] == ["batch_started"] + ["batch_progress"] * 3 + [
        "batch_finished"
    ]
    assert own[0].data == {"done": 0, "failed": 0, "total": 3}
    assert [(r.data["done"], r.data["total"]) for r in own[1:4]] == [(1, 3), (2, 3), (3, 3)]
    assert own[-1].data == {"done": 3, "failed": 1, "total": 3, "status": "completed"}
    assert all(r.project == "picky" for r in own)
    cells = {r.execution_id for r in log if r.execution_id}
    assert cells == {row.execution_id for row in batch.results}
    for row in batch.results:  # every event of every cell carries the batch id
        assert [e.event_type for e in bench.audit(row.execution_id)] == [
            r.event_type for r in log if r.execution_id == row.execution_id
        ]


def test_a_resumed_batch_counts_from_the_rows_it_kept(bench):
    register(bench, workflows.picky, "picky")
    cases = [{"query": q} for q in ("a", "bad", "b", "c")]

    def cancel_after_two(progress) -> None:
        if progress.done == 2:
            bench.cancel_batch(progress.batch_id)

    cancelled = bench.run_batch_test(
        "picky", [{}], cases, runner="sequential", on_progress=cancel_after_two
    )
    finished = [r for r in _batch_log(bench, cancelled.batch_id) if r.event_type.startswith("b")]
    assert finished[-1].data == {"done": 2, "failed": 1, "total": 4, "status": "cancelled"}
    bench.resume_batch(cancelled.batch_id)
    own = [r for r in _batch_log(bench, cancelled.batch_id) if r.execution_id == ""]
    resumed = [r for r in own if r.id > finished[-1].id]
    assert resumed[0].event_type == "batch_started"
    assert resumed[0].data == {"done": 2, "failed": 1, "total": 4}
    assert resumed[-1].data == {"done": 4, "failed": 1, "total": 4, "status": "completed"}


def test_the_events_of_cells_run_away_from_the_driver_carry_the_batch_id(data_dir):
    config = StackConfig(data_dir=data_dir)
    with WTBTestBench(config=config, plugins=[RunnerPlugin()], load_entrypoints=False) as bench:
        register(bench, workflows.linear)
        batch = bench.run_batch_test("linear", [{}], [{"query": "a"}], runner="detached")
        log = _batch_log(bench, batch.batch_id)
        cell = batch.results[0].execution_id
        assert [r.event_type for r in log if r.execution_id == cell] == [
            e.event_type for e in bench.audit(cell)
        ]
        assert {r.batch_id for r in log} == {batch.batch_id}


# -- PostgreSQL: two writers, one tailer -------------------------------------------------


@pytest.fixture
def pg_url():
    psycopg = pytest.importorskip("psycopg")
    name = f"wtb_log_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server at {SERVER}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{SERVER}/{name}"
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _race(url: str) -> tuple[list[list[str]], list[str]]:
    """Writer A inserts and holds its transaction open for a while; writer B (another
    connection pool, as another process) appends meanwhile; a tailer polls the log.
    Returns what the tailer saw over time and the final order of the log."""
    databases = [Database(url) for _ in range(3)]
    for db in databases:
        db.migrate()
    slow, fast, tail = (MetadataStore(db) for db in databases)
    hold = threading.Event()

    @event.listens_for(databases[0].write_engine, "after_cursor_execute")
    def _hold_open(conn, cursor, statement, *args: Any) -> None:
        if statement.startswith("INSERT INTO audit_events"):
            hold.set()
            time.sleep(0.6)  # committed after this

    snapshots: list[list[str]] = []
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            snapshots.append([r.execution_id for r in tail.events_since(0, 100)])
            time.sleep(0.01)

    writer_a = threading.Thread(target=slow.append_events, args=([_row("A")],))
    poller = threading.Thread(target=poll)
    writer_a.start()
    poller.start()
    assert hold.wait(10)
    fast.append_events([_row("B")])
    writer_a.join(10)
    time.sleep(0.05)
    done.set()
    poller.join(10)
    final = [r.execution_id for r in tail.events_since(0, 100)]
    for db in databases:
        db.close()
    return snapshots, final


def test_on_postgresql_seqs_follow_commit_order_across_writers(pg_url):
    snapshots, final = _race(pg_url)
    assert final == ["A", "B"]  # B waited for A's transaction: its id is the higher one
    assert all(seen in ([], ["A"], ["A", "B"]) for seen in snapshots)  # never B before A


def test_without_the_lock_a_tailer_would_skip_an_event(pg_url, monkeypatch):
    """The control for the test above: the race it guards against is real."""
    monkeypatch.setattr(event_log_module, "_LOCK_EVENT_LOG", text("SELECT 1"))
    snapshots, final = _race(pg_url)
    assert final == ["A", "B"]  # A got id 1 first…
    assert ["B"] in snapshots  # …but B committed id 2 first: a tailer past 2 misses 1


def test_a_shorter_interval_applies_to_rows_already_waiting(store):
    """A reader that starts listening shortens the interval: rows buffered under the
    long one are written by the new deadline, not the old."""
    from wtb_core.domain.events import Event, EventType
    from wtb_core.engine.events import EventBus
    from wtb_core.registry import PluginRegistry

    bus = EventBus(PluginRegistry(load_entrypoints=False), store, interval=30)
    bus.publish(Event(type=EventType.NODE_STARTED, execution_id="e", project="p", node="a"))
    time.sleep(0.05)  # the writer waits under the 30 s interval
    bus.interval = 0.01
    deadline = time.monotonic() + 5
    while not _ids(store) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _ids(store) == [1]
    bus.close()
