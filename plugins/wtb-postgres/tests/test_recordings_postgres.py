"""Recorded node outputs in the PostgreSQL metadata database: record, replay after a
restart, a missing input failing only its cell, export and import."""

from __future__ import annotations

import psycopg

import wtb_postgres.plugin
from tests.test_recordings import CALLS, CASES, make_graph
from wtb_core import ExecutionStatus, WorkflowProject, WTBTestBench


def postgres_bench(pg_url: str, tmp_path) -> WTBTestBench:
    bench = WTBTestBench.create(
        mode="production", plugins=[wtb_postgres.plugin], load_entrypoints=False,
        checkpoint_store="postgres", database_url=pg_url, data_dir=tmp_path / "data",
    )  # fmt: skip
    bench.register_project(WorkflowProject("rag", make_graph, recorded_nodes=["retriever"]))
    return bench


def test_record_and_replay_on_postgres(pg_url, tmp_path):
    CALLS.clear()
    with postgres_bench(pg_url, tmp_path) as bench:
        recorded = bench.run_batch_test("rag", [{}], CASES, record=True, runner="threadpool")
        assert {r.status for r in recorded.results} == {ExecutionStatus.COMPLETED}
    with psycopg.connect(pg_url) as connection:  # the entries are PostgreSQL rows
        count = connection.execute("SELECT count(*) FROM recording_entries").fetchone()
        assert count == (2,)

    CALLS.clear()
    with postgres_bench(pg_url, tmp_path) as bench:  # a restart
        replayed = bench.run_batch_test(
            "rag", [{}], [*CASES, {"query": "new"}], replay=recorded.batch_id
        )
        by_case = {r.case: r for r in replayed.results}
        for case in ("case-0", "case-1"):
            assert by_case[case].state == {r.case: r for r in recorded.results}[case].state
        assert by_case["case-2"].status is ExecutionStatus.FAILED
        assert "node 'retriever'" in by_case["case-2"].error
        assert CALLS["retriever"] == 0
        path = bench.export_recording(recorded.batch_id, tmp_path / "rag.json")
        bench.delete_recording(recorded.batch_id)
        assert bench.list_recordings() == []
        assert bench.import_recording(path).entries == 2
