"""The metadata store: migrations, and the SQLite fast path for execution rows."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, inspect

from wtb_core.storage.database import Database
from wtb_core.storage.metadata import MetadataStore
from wtb_core.storage.tables import ExecutionRecord


def _values(execution_id: str) -> dict:
    moment = datetime(2026, 11, 21, 13, 14, 15, 123456, tzinfo=UTC)
    return {
        "id": execution_id,
        "project": "p",
        "thread_id": f"wtb-{execution_id}",
        "status": "paused",
        "head_checkpoint_id": "cp",
        "initial_state": {"query": "héllo ✓", "nested": {"a": [1, 2.5, None, True]}},
        "state": {"answer": "x" * 300},
        "error": None,
        "variant_config": {"retriever": "bm25"},
        "workflow_variant": None,
        "project_version": "1.0",
        "breakpoints": ["generate"],
        "next_nodes": ["generate"],
        "interrupts": [{"id": "i", "node": "n", "value": {"q": 1}}],
        "parent_execution_id": None,
        "parent_checkpoint_id": None,
        "owner": "host:1",
        "workspace": "/tmp/ws",
        "duration_ms": 12.5,
        "created_at": moment,
        "updated_at": moment,
    }


def _read(store: MetadataStore, execution_id: str) -> dict:
    row = store.get_execution(execution_id)
    skip = {"id", "thread_id"}  # both embed the execution id
    return {
        c.key: getattr(row, c.key) for c in ExecutionRecord.__table__.columns if c.key not in skip
    }


def test_fast_path_rows_read_back_exactly_like_sqlalchemy_rows(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'm.sqlite'}")
    db.migrate()
    store = MetadataStore(db)
    store.create_execution(ExecutionRecord(**_values("fast")))
    with db.transaction() as session:  # the plain SQLAlchemy path
        session.execute(insert(ExecutionRecord.__table__), _values("orm"))
    assert _read(store, "fast") == _read(store, "orm")

    change = {"status": "completed", "state": {"answer": "done"}, "error": "E: x"}
    store.update_execution("fast", change)
    store.create_execution(ExecutionRecord(**_values("fast")))  # same id again: ignored
    fast = _read(store, "fast")
    assert fast["status"] == "completed" and fast["state"] == {"answer": "done"}
    assert fast["initial_state"] == _values("x")["initial_state"]
    store.close()
    db.close()


def test_migrations_create_every_table_once(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'm.sqlite'}")
    db.migrate()
    db.migrate()  # idempotent
    tables = set(inspect(db.write_engine).get_table_names())
    assert {"projects", "executions", "audit_events", "batches", "batch_rows"} <= tables
    assert {"file_commits", "file_snapshots", "alembic_version"} <= tables
    db.close()


def test_api_threads_and_runs_read_the_same_on_the_fast_path_and_through_sqlalchemy(tmp_path):
    from wtb_core.storage.api_threads import ApiThreadStore, StoredRun, StoredThread

    db = Database(f"sqlite:///{tmp_path / 'm.sqlite'}")
    db.migrate()
    fast = ApiThreadStore(db)
    slow = ApiThreadStore(db)
    slow._fast_threads = slow._fast_runs = None  # the SQLAlchemy path of other databases
    thread = StoredThread("t1", "e1", None, {"graph_id": "g", "n": [1, 2.5, None]})
    assert fast.create_thread(thread) and not fast.create_thread(thread)
    assert not slow.create_thread(thread)
    assert fast.get_thread("t1") == slow.get_thread("t1")
    assert fast.get_thread("t1").metadata == thread.metadata
    fast.update_thread("t1", project="p", metadata={"graph_id": "p"})
    assert fast.get_thread("t1") == slow.get_thread("t1")
    assert slow.get_thread("t1").project == "p"
    run = StoredRun("r1", "t1", "a", "success", {"k": "v"}, error="E: x")
    fast.create_run(run)
    assert fast.get_run("r1") == slow.get_run("r1") == slow.list_runs("t1", 10)[0]
    assert fast.get_run("r1").created_at == run.created_at
    assert fast.get_thread("nope") is None and fast.get_run("nope") is None
    fast.close()
    db.close()
