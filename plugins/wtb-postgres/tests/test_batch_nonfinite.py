"""A NaN or infinite score on PostgreSQL: that metric's error for the row, as on SQLite (JSONB
refuses NaN, so storing it as a float aborted the whole batch)."""

from __future__ import annotations

import wtb_postgres.plugin
from tests import workflows
from tests.test_batch import check_non_finite_scores
from wtb_core import StackConfig, WorkflowProject, WTBTestBench


def test_non_finite_scores_are_score_errors_on_postgres(pg_url, tmp_path):
    config = StackConfig(
        checkpoint_store="postgres", database_url=pg_url, data_dir=tmp_path / "data"
    )
    with WTBTestBench(
        config=config, plugins=[wtb_postgres.plugin], load_entrypoints=False
    ) as bench:
        assert not bench.stack.metadata.db.is_sqlite
        bench.register_project(WorkflowProject("linear", workflows.linear))
        check_non_finite_scores(bench, "linear")
    assert not (tmp_path / "data" / "wtb.sqlite").exists()
