"""Many threads share one bench on the embedded SQLite default."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from tests import workflows
from tests.conftest import register
from wtb_core import ExecutionStatus


def test_sixteen_threads_run_executions_without_database_is_locked(bench, caplog):
    project = register(bench, workflows.chain10)
    caplog.set_level(logging.WARNING)
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda i: bench.run(project, {"query": str(i)}), range(64)))

    assert [r.status for r in results] == [ExecutionStatus.COMPLETED] * 64
    assert all(r.error is None for r in results)
    assert {r.state["query"] for r in results} == {str(i) for i in range(64)}
    assert all(r.state["n"] == 10 for r in results)
    assert "database is locked" not in caplog.text
    assert len(bench.list_executions(status="completed")) == 64
    for result in results[:4]:
        assert len(bench.get_checkpoints(result.execution_id)) == 12
        assert sum(e.event_type == "node_completed" for e in bench.audit(result.execution_id)) == 10
