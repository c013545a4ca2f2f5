"""The whole SDK on PostgreSQL, chosen by configuration alone."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

import wtb_postgres.plugin
from tests import workflows
from wtb_core import ExecutionStatus, StorageError, WorkflowProject, WTBTestBench
from wtb_core.batch.models import BatchStatus


def production_bench() -> WTBTestBench:
    return WTBTestBench.create(
        mode="production", plugins=[wtb_postgres.plugin], load_entrypoints=False
    )


@pytest.fixture
def on_postgres(monkeypatch, pg_url, tmp_path):
    """``WTB_CHECKPOINT_STORE=postgres`` and ``WTB_DATABASE_URL``: no code change."""
    monkeypatch.setenv("WTB_CHECKPOINT_STORE", "postgres")
    monkeypatch.setenv("WTB_DATABASE_URL", pg_url)
    monkeypatch.setenv("WTB_DATA_DIR", str(tmp_path / "data"))
    return pg_url


def test_run_rollback_fork_restart_and_batch_on_postgres(on_postgres, tmp_path):
    with production_bench() as bench:
        bench.register_project(WorkflowProject("linear", workflows.linear))
        done = bench.run("linear", {"query": "pg"})
        checkpoints = bench.get_checkpoints(done.execution_id)
        assert done.status is ExecutionStatus.COMPLETED and len(checkpoints) == 5
        rolled = bench.rollback(done.execution_id, checkpoints[2].checkpoint_id)
        assert rolled.state == checkpoints[2].values
        fork = bench.fork(done.execution_id, checkpoints[3].checkpoint_id, updates={"query": "f"})
        paused = bench.run("linear", {"query": "later"}, breakpoints=["generate"])

    with production_bench() as bench:  # a new process's view: everything is in PostgreSQL
        assert {r.execution_id for r in bench.list_executions()} == {
            done.execution_id,
            fork.execution_id,
            paused.execution_id,
        }
        assert bench.resume(done.execution_id).state == done.state
        assert bench.resume(fork.execution_id).state["query"] == "f"
        assert bench.resume(paused.execution_id).status is ExecutionStatus.COMPLETED
        assert len(bench.audit(done.execution_id)) > 10

        batch = bench.run_batch_test(
            "linear",
            [{}],
            [{"query": str(i)} for i in range(48)],
            evaluators=["latency"],
            runner="threadpool",
            parallelism=16,
        )
        assert batch.status is BatchStatus.COMPLETED
        assert [r.status for r in batch.results] == [ExecutionStatus.COMPLETED] * 48
        assert all(r.error is None for r in batch.results)
    assert not (tmp_path / "data" / "wtb.sqlite").exists()
    assert not (tmp_path / "data" / "checkpoints.sqlite").exists()


def test_metadata_uses_jsonb_gin_brin_and_btree(on_postgres):
    with production_bench():
        pass
    with psycopg.connect(on_postgres) as conn:
        types = dict(
            conn.execute(
                "SELECT table_name || '.' || column_name, data_type "
                "FROM information_schema.columns "
                "WHERE table_name IN ('executions', 'batch_rows', 'audit_events')"
            ).fetchall()
        )
        indexes = {
            name: definition
            for name, definition in conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            ).fetchall()
        }
    assert types["executions.state"] == "jsonb" and types["batch_rows.scores"] == "jsonb"
    assert "USING gin (variant_config jsonb_path_ops)" in indexes["ix_executions_variant_config"]
    assert "USING brin" in indexes["ix_audit_events_timestamp_brin"]
    assert "(batch_id, combination)" in indexes["ix_batch_rows_batch_id_combination"]
    assert "btree (execution_id)" in indexes["ix_file_snapshots_execution_id"]


def test_variant_filter_uses_jsonb_containment(on_postgres):
    with production_bench() as bench:
        project = bench.register_project(WorkflowProject("linear", workflows.linear))
        project.register_variant("generate", "echo", workflows.echo_answer)
        bench.run("linear", {})
        echoed = bench.run("linear", {}, variant_config={"generate": "echo"})
        found = bench.list_executions(variant_config={"generate": "echo"})
    assert [r.execution_id for r in found] == [echoed.execution_id]


def _kill_connections(url: str) -> int:
    database = url.rsplit("/", 1)[1]
    with psycopg.connect(url, autocommit=True) as conn:
        return len(
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            ).fetchall()
        )


def test_connections_killed_mid_batch_lose_and_duplicate_nothing(on_postgres):
    with production_bench() as bench:
        bench.register_project(WorkflowProject("napping", workflows.napping))
        terminated: list[int] = []
        killers: list[threading.Thread] = []

        def kill() -> None:
            terminated.append(_kill_connections(on_postgres))

        def on_progress(progress):
            if progress.done in (3, 7) and len(killers) < (1 if progress.done == 3 else 2):
                killers.append(threading.Thread(target=kill))
                killers[-1].start()

        batch = bench.run_batch_test(
            "napping",
            [{}],
            [{"query": str(i)} for i in range(12)],
            runner="threadpool",
            parallelism=4,
            on_progress=on_progress,
        )
        for killer in killers:
            killer.join()
        assert len(killers) == 2 and sum(terminated) > 0  # server-side kills really happened
        assert batch.status is BatchStatus.COMPLETED
        assert sorted(r.case for r in batch.results) == sorted(f"case-{i}" for i in range(12))
        assert len({r.execution_id for r in batch.results}) == 12
        assert bench.get_batch(batch.batch_id).results == batch.results


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("postgresql://postgres@127.0.0.1:1/nowhere", "127.0.0.1:1/nowhere"),
        ("postgresql://no_such_role_wtb@127.0.0.1:5432/postgres", "127.0.0.1:5432/postgres"),
    ],
)
def test_an_unreachable_server_or_bad_credentials_fail_fast_naming_it(monkeypatch, url, why):
    monkeypatch.setenv("WTB_CHECKPOINT_STORE", "postgres")
    monkeypatch.setenv("WTB_DATABASE_URL", url)
    start = time.monotonic()
    with pytest.raises(StorageError) as raised:
        production_bench()
    assert time.monotonic() - start < 10
    assert why in str(raised.value)


def test_file_commit_chunks_are_jsonb_and_read_back(pg_url):
    from wtb_core.storage.database import Database
    from wtb_core.storage.metadata import MetadataStore

    db = Database(pg_url)
    db.migrate()
    store = MetadataStore(db)
    manifest = {f"out/{i}.txt": {"hash": f"{i:064x}", "size": i, "mode": 420} for i in range(500)}
    commit = store.save_file_snapshot("e1", "cp1", manifest)
    assert store.save_file_snapshot("e1", "cp1", manifest) == commit  # same link: no-op
    assert store.file_commit(commit) == manifest
    assert store.file_snapshot_links("e1") == {"cp1": commit}
    with psycopg.connect(pg_url) as conn:
        kinds = conn.execute("SELECT DISTINCT jsonb_typeof(entries) FROM file_chunks").fetchall()
    assert kinds == [("object",)]
    store.close()
    db.close()


def test_migration_0005_keeps_commits_stored_whole(pg_url):
    from tests.test_file_commits import check_migration_0005

    check_migration_0005(pg_url)
