"""Shared-prefix batches on PostgreSQL (checkpoints and metadata): the trunks' lineage is
copied by the store's set-based SQL, and every cell matches an independent one."""

from __future__ import annotations

import wtb_postgres.plugin
from tests.test_shared_prefix import check_shared_matches_independent, register_looping
from wtb_core import StackConfig, WTBTestBench


def test_shared_prefixes_match_independent_cells_on_postgres(pg_url, tmp_path):
    config = StackConfig(
        checkpoint_store="postgres", database_url=pg_url, data_dir=tmp_path / "data"
    )
    with WTBTestBench(
        config=config, plugins=[wtb_postgres.plugin], load_entrypoints=False
    ) as bench:
        assert not bench.stack.metadata.db.is_sqlite
        check_shared_matches_independent(bench, register_looping(bench), "threadpool")
