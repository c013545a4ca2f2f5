"""Parallel batch cells each work in a workspace of their own, seeded from the base one."""

from __future__ import annotations

import hashlib
import threading
from typing import TypedDict

import pytest
from langgraph.graph import END, START, StateGraph

from wtb_core import WorkflowProject, WTBError, current_workspace
from wtb_core.config import FileTrackingConfig

CELLS = 4
TRACKING = FileTrackingConfig(enabled=True, tracked_paths=["out"])
together = threading.Barrier(CELLS)


class CellState(TypedDict, total=False):
    query: str
    seen: str
    seeded: str


def write(state: CellState) -> CellState:
    (current_workspace() / "out" / "result.txt").write_text(state["query"])
    together.wait(timeout=30)  # every cell has written before any reads back
    return {}


def read(state: CellState) -> CellState:
    out = current_workspace() / "out"
    return {"seen": (out / "result.txt").read_text(), "seeded": (out / "input.txt").read_text()}


def cells() -> StateGraph:
    g = StateGraph(CellState)
    g.add_node("write", write)
    g.add_node("read", read)
    g.add_edge(START, "write")
    g.add_edge("write", "read")
    g.add_edge("read", END)
    return g


@pytest.fixture
def project(bench, workspace) -> str:
    together.reset()
    (workspace / "out").mkdir()
    (workspace / "out" / "input.txt").write_text("from the base")
    (workspace / "out" / "result.txt").write_text("base")
    bench.register_project(WorkflowProject("cells", cells, file_tracking=TRACKING))
    return "cells"


def run_batch(bench, project, **kwargs):
    return bench.run_batch_test(
        project,
        variant_matrix=[{}],
        test_cases=[{"query": f"query {i}"} for i in range(CELLS)],
        runner="threadpool",
        parallelism=CELLS,
        **kwargs,
    )


def test_parallel_cells_never_see_each_others_files(bench, project, workspace, data_dir, files):
    before = files.stats(workspace)
    batch = run_batch(bench, project)
    assert [r.status for r in batch.results] == ["completed"] * CELLS, batch.results
    for i, row in enumerate(batch.results):
        assert row.state == {"query": f"query {i}", "seen": f"query {i}", "seeded": "from the base"}
    assert files.tree(workspace) == {"out/input.txt": "from the base", "out/result.txt": "base"}
    assert files.stats(workspace) == before
    assert not list((data_dir / "workspaces").glob("**/*"))

    for i, row in enumerate(batch.results):  # each cell snapshotted its own files
        last = bench.get_file_snapshots(row.execution_id)[-1]
        assert last.files["out/result.txt"] == hashlib.sha256(f"query {i}".encode()).hexdigest()


def test_kept_workspaces_hold_each_cells_files(bench, project, data_dir):
    batch = run_batch(bench, project, keep_workspaces=True)
    kept = sorted((data_dir / "workspaces" / batch.batch_id).iterdir())
    assert len(kept) == CELLS
    results = sorted((w / "out" / "result.txt").read_text() for w in kept)
    assert results == [f"query {i}" for i in range(CELLS)]


def test_a_prepared_workspace_is_a_copy_never_a_hard_link(bench, workspace, data_dir):
    out = workspace / "out"
    (out / "sub").mkdir(parents=True)
    (out / "sub" / "data.bin").write_bytes(b"base bytes")
    (out / "link").symlink_to("sub/data.bin")
    (workspace / "untracked.txt").write_text("not copied")
    tracker = bench.stack.file_tracker

    cell = tracker.prepare_workspace(workspace, TRACKING, "batch-1/c0-k0-r0")
    assert cell == data_dir.resolve() / "workspaces" / "batch-1" / "c0-k0-r0"
    copied = cell / "out" / "sub" / "data.bin"
    assert copied.read_bytes() == b"base bytes"
    assert copied.stat().st_ino != (out / "sub" / "data.bin").stat().st_ino
    assert (cell / "out" / "link").is_symlink()
    assert not (cell / "untracked.txt").exists()
    with copied.open("r+b") as f:  # an in-place write stays in the cell
        f.write(b"CELL")
    assert (out / "sub" / "data.bin").read_bytes() == b"base bytes"

    tracker.discard_workspace(cell)
    assert not (data_dir / "workspaces" / "batch-1").exists()


@pytest.mark.parametrize("key", ["../escape", "/abs", ".."])
def test_workspace_keys_cannot_leave_the_workspaces_directory(bench, workspace, key):
    with pytest.raises(WTBError, match="must be a relative path"):
        bench.stack.file_tracker.prepare_workspace(workspace, TRACKING, key)


def test_discard_refuses_directories_it_did_not_prepare(bench, workspace):
    with pytest.raises(WTBError, match="not a workspace wtb-filetrack prepared"):
        bench.stack.file_tracker.discard_workspace(workspace)
    assert workspace.is_dir()
