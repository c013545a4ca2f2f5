"""The event bus and audit trail."""

from __future__ import annotations

from sqlalchemy import event

from tests import workflows
from tests.conftest import register
from wtb_core import EventType, Severity, WTBTestBench, hookimpl


def test_audit_trail_records_the_run_in_order(bench):
    result = bench.run(register(bench, workflows.linear), {})
    entries = bench.audit(result.execution_id)
    types = [e.event_type for e in entries]
    assert types[0] == "execution_started" and types[-1] == "execution_completed"
    node_events = [(e.event_type, e.node) for e in entries if e.node]
    assert node_events == [
        ("node_started", "retrieve"),
        ("node_completed", "retrieve"),
        ("node_started", "grade"),
        ("node_completed", "grade"),
        ("node_started", "generate"),
        ("node_completed", "generate"),
    ]
    checkpoints = [e for e in entries if e.event_type == "checkpoint_created"]
    assert [e.checkpoint_id for e in checkpoints] == [
        c.checkpoint_id for c in bench.get_checkpoints(result.execution_id)
    ]
    assert [e.timestamp for e in entries] == sorted(e.timestamp for e in entries)
    assert all(e.data["duration_ms"] >= 0 for e in entries if e.event_type == "node_completed")


def test_control_events_have_severity(bench):
    project = register(bench, workflows.failing)
    failed = bench.run(project, {})
    first = bench.get_checkpoints(failed.execution_id)[1].checkpoint_id
    bench.rollback(failed.execution_id, first)
    fork = bench.fork(failed.execution_id, first)
    entries = bench.audit(failed.execution_id)
    by_type = {e.event_type: e for e in entries}
    assert by_type["node_failed"].severity is Severity.ERROR
    assert "flaky node failed on purpose" in by_type["node_failed"].message
    assert by_type["execution_failed"].severity is Severity.ERROR
    assert by_type["execution_rolled_back"].checkpoint_id == first
    assert [e.event_type for e in bench.audit(fork.execution_id)] == ["execution_forked"]


def test_audit_rows_are_written_in_batches_off_the_run(bench):
    project = register(bench, workflows.chain10)
    inserts = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO audit_events"):
            inserts.append(len(parameters) if executemany else 1)

    engine = bench.stack.db.write_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        results = [bench.run(project, {}) for _ in range(5)]
        entries = [bench.audit(r.execution_id) for r in results]
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert all(len(e) == 34 for e in entries)  # start, 12 checkpoints, 10 x 2 node events, end
    assert sum(inserts) == 5 * 34
    assert len(inserts) <= 5  # batches, not one statement per event


class Listener:
    def __init__(self):
        self.events = []

    @hookimpl
    def wtb_on_event(self, event):
        self.events.append(event)


class Broken:
    @hookimpl
    def wtb_on_event(self, event):
        raise RuntimeError("listener bug")


def test_wtb_on_event_hears_everything_and_a_broken_listener_does_not_stop_runs(data_dir):
    listener = Listener()
    with WTBTestBench(data_dir=data_dir, plugins=[listener, Broken()], load_entrypoints=False) as b:
        result = b.run(register(b, workflows.linear), {})
    assert result.status == "completed"
    types = [e.type for e in listener.events]
    assert types[0] is EventType.EXECUTION_STARTED and types[-1] is EventType.EXECUTION_COMPLETED
    assert types.count(EventType.NODE_COMPLETED) == 3
    assert {e.execution_id for e in listener.events} == {result.execution_id}
