"""A workspace edited into the metadata database is never written to by a rollback."""

from __future__ import annotations

import sqlite3

import pytest

import wtb_filetrack.plugin
from wtb_core import StackConfig, StorageError, WTBTestBench


def _reopen(data_dir, workspace, **config) -> WTBTestBench:
    stack = StackConfig(data_dir=data_dir, file_tracker="cas", **config)
    return WTBTestBench(
        config=stack, plugins=[wtb_filetrack.plugin], load_entrypoints=False, workspace=workspace
    )


def test_rollback_refuses_a_stored_workspace_outside_the_roots(
    bench, docs, data_dir, workspace, tmp_path, checkpoint_after
):
    done = bench.run(docs, {})
    target = checkpoint_after(done.execution_id, "draft")
    bench.close()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with sqlite3.connect(data_dir / "wtb.sqlite") as db:
        db.execute(
            "UPDATE executions SET workspace = ? WHERE id = ?", (str(elsewhere), done.execution_id)
        )

    with _reopen(data_dir, workspace) as reopened:
        reopened.register_project(bench.get_project(docs))
        with pytest.raises(StorageError, match="outside this bench's workspace roots"):
            reopened.rollback(done.execution_id, target)
    assert list(elsewhere.iterdir()) == []

    with _reopen(data_dir, workspace, workspace_roots=[elsewhere]) as trusting:
        trusting.register_project(bench.get_project(docs))
        trusting.rollback(done.execution_id, target)
    assert (elsewhere / "out" / "a.txt").read_text() == "draft"
