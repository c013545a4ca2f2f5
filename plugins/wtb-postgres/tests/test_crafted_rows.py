"""A crafted checkpoint row in PostgreSQL is a StorageError, never an import."""

from __future__ import annotations

import psycopg
import pytest

import wtb_postgres.plugin
from tests import workflows
from tests.hardening.crafted import CALL, packed
from wtb_core import StackConfig, StorageError, WorkflowProject, WTBTestBench


def test_a_crafted_blob_is_refused_not_run(pg_url, tmp_path):
    marker = tmp_path / "pwned"
    config = StackConfig(checkpoint_store="postgres", database_url=pg_url, data_dir=tmp_path)
    with WTBTestBench(config=config, plugins=[wtb_postgres.plugin], load_entrypoints=False) as b:
        b.register_project(WorkflowProject("linear", workflows.linear))
        done = b.run("linear", {"query": "q"})
        with psycopg.connect(pg_url, autocommit=True) as conn:
            changed = conn.execute(
                "UPDATE checkpoint_blobs SET blob = %s WHERE thread_id = %s AND channel = 'log'",
                (packed(CALL, f"touch {marker}"), f"wtb-{done.execution_id}"),
            ).rowcount
        assert changed >= 1
        with pytest.raises(StorageError, match=r"names os\.system"):
            b.get_state(done.execution_id)
    assert not marker.exists()
