"""A full disk, a damaged file, non-finite numbers: a StorageError naming the cause, and
nothing left ``running``."""

from __future__ import annotations

import math
from typing import Any, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph

from tests import workflows
from tests.conftest import register
from wtb_core import ExecutionStatus, StorageError, WorkflowProject, WTBTestBench


def _fill(connection) -> None:
    """Make a SQLite database full: no page beyond those it has (a real SQLITE_FULL)."""
    (pages,) = connection.execute("PRAGMA page_count").fetchone()
    connection.execute(f"PRAGMA max_page_count = {pages}")


def test_a_full_checkpoint_database_is_a_storage_error_and_fails_the_execution(bench):
    project = register(bench, workflows.chain10)
    bench.run(project, {})
    _fill(bench.stack.checkpoints.saver.conn)
    with pytest.raises(StorageError, match="database or disk is full"):
        for _ in range(50):  # the free pages of the last file extension run out soon
            bench.run(project, {"blob": "x" * 20_000})
    failed = [e for e in bench.list_executions() if e.status is not ExecutionStatus.COMPLETED]
    assert [e.status for e in failed] == [ExecutionStatus.FAILED]
    assert "checkpoint store failed" in failed[0].error
    assert not bench.list_executions(status="running")


def test_a_full_metadata_database_names_the_cause_not_a_rollback_error(bench):
    project = register(bench, workflows.linear)
    bench.run(project, {})
    _fill(bench.stack.metadata._fast._conn)
    with pytest.raises(StorageError, match=r"metadata database .* database or disk is full") as e:
        for _ in range(200):
            bench.run(project, {"blob": "y" * 20_000})
    assert "no transaction is active" not in str(e.value)
    assert not bench.list_executions(status="running")


class Scores(TypedDict, total=False):
    score: float
    scores: list[float]


def _non_finite(state: Scores) -> dict[str, Any]:
    return {"score": float("nan"), "scores": [float("inf"), -float("inf"), 1.0]}


def non_finite() -> StateGraph:
    builder = StateGraph(Scores)
    builder.add_node("measure", _non_finite)
    builder.add_edge(START, "measure")
    builder.add_edge("measure", END)
    return builder


def check_non_finite_round_trip(bench: WTBTestBench) -> None:
    bench.register_project(WorkflowProject("nan", non_finite))
    done = bench.run("nan", {})
    assert done.status is ExecutionStatus.COMPLETED
    for state in (
        done.state,
        bench.get_execution(done.execution_id).state,
        bench.get_state(done.execution_id),
    ):
        assert math.isnan(state["score"])
        assert state["scores"][:2] == [math.inf, -math.inf]


def test_non_finite_state_values_round_trip_on_sqlite(bench):
    check_non_finite_round_trip(bench)


def test_a_damaged_checkpoint_file_is_a_storage_error_naming_it(data_dir):
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        done = bench.run(register(bench, workflows.linear), {})
    path = data_dir / "checkpoints.sqlite"
    path.write_bytes(b"not a database at all" * 100)
    for suffix in ("-wal", "-shm"):
        (data_dir / f"checkpoints.sqlite{suffix}").unlink(missing_ok=True)
    with pytest.raises(StorageError, match=r"checkpoint file .*checkpoints\.sqlite"):
        WTBTestBench(data_dir=data_dir, load_entrypoints=False)
    del done


def test_a_missing_checkpoint_file_is_lost_data_not_a_new_empty_file(data_dir):
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        bench.run(register(bench, workflows.linear), {})
    for name in ("checkpoints.sqlite", "checkpoints.sqlite-wal", "checkpoints.sqlite-shm"):
        (data_dir / name).unlink(missing_ok=True)
    with pytest.raises(StorageError, match=r"is missing.*1 execution\(s\).*lost"):
        WTBTestBench(data_dir=data_dir, load_entrypoints=False)
    assert not (data_dir / "checkpoints.sqlite").exists()


def test_one_damaged_row_does_not_break_listing(bench, data_dir, caplog):
    import sqlite3

    project = register(bench, workflows.linear)
    good = bench.run(project, {})
    bad = bench.run(project, {})
    with sqlite3.connect(data_dir / "wtb.sqlite") as db:
        db.execute("UPDATE executions SET state = '{not json' WHERE id = ?", (bad.execution_id,))
    listed = [e.execution_id for e in bench.list_executions()]
    assert listed == [good.execution_id]
    assert "left out of the listing" in caplog.text
    with pytest.raises(StorageError, match=r"'state' column holds '\{not json'"):
        bench.get_execution(bad.execution_id)


def test_checkpoints_lost_from_the_store_are_reported_as_lost(bench):
    project = register(bench, workflows.linear)
    done = bench.run(project, {})
    rolled = bench.run(project, {})
    bench.rollback(rolled.execution_id, bench.get_checkpoints(rolled.execution_id)[1].checkpoint_id)
    for execution in (done, rolled):
        bench.stack.checkpoints.delete_thread(f"wtb-{execution.execution_id}")
        with pytest.raises(StorageError, match="the store has lost it"):
            bench.get_state(execution.execution_id)
        with pytest.raises(StorageError, match="lost"):
            bench.get_checkpoints(execution.execution_id)
