"""PostgreSQL faults: an exhausted pool, non-finite numbers in the state."""

from __future__ import annotations

import pytest

import wtb_postgres.plugin
from tests import workflows
from tests.hardening.test_storage_faults import check_non_finite_round_trip
from wtb_core import ExecutionStatus, StackConfig, StorageError, WorkflowProject, WTBTestBench


def _bench(pg_url, tmp_path, **config) -> WTBTestBench:
    stack = StackConfig(
        checkpoint_store="postgres", database_url=pg_url, data_dir=tmp_path, **config
    )
    return WTBTestBench(config=stack, plugins=[wtb_postgres.plugin], load_entrypoints=False)


def test_non_finite_state_values_round_trip_on_postgres(pg_url, tmp_path):
    with _bench(pg_url, tmp_path) as bench:
        check_non_finite_round_trip(bench)


def test_an_exhausted_pool_is_a_storage_error_within_the_timeout(pg_url, tmp_path):
    with _bench(pg_url, tmp_path, pool_size=1, pool_timeout=0.5) as bench:
        bench.register_project(WorkflowProject("linear", workflows.linear))
        pool = bench.stack.checkpoints.pool
        held = pool.getconn()  # the pool's only connection, busy elsewhere
        try:
            with pytest.raises(StorageError, match=r"within 0\.5 s.*pool_timeout"):
                bench.run("linear", {})
        finally:
            pool.putconn(held)
        (execution,) = bench.list_executions()
        assert execution.status is ExecutionStatus.FAILED
        assert bench.resume(execution.execution_id).status is ExecutionStatus.COMPLETED
