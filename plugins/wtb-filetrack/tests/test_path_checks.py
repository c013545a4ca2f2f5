"""Mistakes in what is tracked show where they are made: a tracked path leaving the workspace
when the project registers (for a per-run workspace, when the run starts), a symbolic link
leading out of the tracked paths when it is snapshotted, not at a later rollback."""

from __future__ import annotations

import os
import re
from typing import TypedDict

import pytest
from langgraph.graph import END, START, StateGraph

from wtb_core import ConfigurationError, WorkflowProject, WTBError, current_workspace
from wtb_core.config import FileTrackingConfig
from wtb_core.ports.file_tracker import TrackedExecution

TRACKING = FileTrackingConfig(enabled=True, tracked_paths=["out/"])


class S(TypedDict, total=False):
    step: int


def graph_of(*nodes) -> StateGraph:
    g = StateGraph(S)
    previous = START
    for node in nodes:
        g.add_node(node.__name__, node)
        g.add_edge(previous, node.__name__)
        previous = node.__name__
    g.add_edge(previous, END)
    return g


def write(state: S) -> S:
    out = current_workspace() / "out"
    out.mkdir(exist_ok=True)
    (out / "a.txt").write_text("written")
    return {"step": 1}


def link_out(state: S) -> S:
    (current_workspace() / "out" / "passwd").symlink_to("/etc/passwd")
    return {"step": 2}


def after(state: S) -> S:
    (current_workspace() / "out" / "never.txt").write_text("the run stopped before this node")
    return {"step": 3}


# -- tracked paths ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["../elsewhere", "/etc", "out/../../x"])
def test_a_tracked_path_leaving_the_workspace_is_refused_at_registration(bench, workspace, path):
    tracking = FileTrackingConfig(enabled=True, tracked_paths=["out", path])
    project = WorkflowProject("leaky", lambda: graph_of(write), file_tracking=tracking)
    with pytest.raises(ConfigurationError) as refused:
        bench.register_project(project)
    message = str(refused.value)
    assert repr(path) in message and str(workspace) in message
    assert "relative to the workspace" in message and "workspace=" in message
    assert "leaky" not in bench.list_projects()


def test_an_absolute_path_inside_the_workspace_is_tracked_as_its_relative_path(
    bench, workspace, checkpoint_after
):
    tracking = FileTrackingConfig(enabled=True, tracked_paths=[str(workspace / "out") + "/"])
    bench.register_project(
        WorkflowProject("abs", lambda: graph_of(write, after), file_tracking=tracking)
    )
    run = bench.run("abs")
    assert run.status == "completed", run.error
    assert set(bench.get_file_snapshots(run.execution_id)[-1].files) == {
        "out/a.txt",
        "out/never.txt",
    }
    bench.rollback(run.execution_id, checkpoint_after(run.execution_id, "write"))
    assert not (workspace / "out" / "never.txt").exists()
    assert (workspace / "out" / "a.txt").read_text() == "written"


def test_the_one_rule_normalises_and_names_the_workspace(workspace):
    paths = [str(workspace), "./out/", str(workspace / "data" / "x"), "out/sub"]
    assert FileTrackingConfig(tracked_paths=paths).tracked_roots(workspace) == [""]
    inside = [str(workspace / "data") + "/", "./out/", "out/sub", "out/../logs"]
    assert FileTrackingConfig(tracked_paths=inside).tracked_roots(workspace) == [
        "data",
        "logs",
        "out",
    ]
    with pytest.raises(ConfigurationError, match=re.escape(f"workspace {workspace}")):
        FileTrackingConfig(tracked_paths=[str(workspace.parent)]).tracked_roots(workspace)


def test_a_per_run_workspace_is_checked_when_the_run_starts(bench, workspace, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    absolute = str(workspace / "out")
    tracking = FileTrackingConfig(enabled=True, tracked_paths=[absolute])
    bench.register_project(WorkflowProject("abs", lambda: graph_of(write), file_tracking=tracking))

    run = bench.run("abs", workspace=other)
    assert run.status == "failed"
    assert repr(absolute) in run.error and f"workspace {other}" in run.error
    assert list(other.iterdir()) == []  # no node ran
    assert bench.get_file_snapshots(run.execution_id) == []


def test_batch_cells_track_an_absolute_path_of_the_bench_workspace(bench, workspace):
    (workspace / "out").mkdir()
    (workspace / "out" / "seed.txt").write_text("from the base")
    tracking = FileTrackingConfig(enabled=True, tracked_paths=[str(workspace / "out")])
    bench.register_project(WorkflowProject("abs", lambda: graph_of(write), file_tracking=tracking))
    batch = bench.run_batch_test(
        "abs", variant_matrix=[{}], test_cases=[{}, {}], runner="threadpool", parallelism=2
    )
    assert [r.status for r in batch.results] == ["completed"] * 2, batch.results
    for row in batch.results:
        files = bench.get_file_snapshots(row.execution_id)[-1].files
        assert set(files) == {"out/a.txt", "out/seed.txt"}
    assert not (workspace / "out" / "a.txt").exists()  # the cells wrote into their own


# -- symbolic links --------------------------------------------------------------------------


def test_a_node_linking_out_of_the_tracked_paths_fails_at_that_node(bench, workspace):
    bench.register_project(
        WorkflowProject("links", lambda: graph_of(write, link_out, after), file_tracking=TRACKING)
    )
    run = bench.run("links")
    assert run.status == "failed"
    assert "'out/passwd'" in run.error and "'/etc/passwd'" in run.error
    assert "ignore_patterns" in run.error
    assert not (workspace / "out" / "never.txt").exists()
    snapshots = bench.get_file_snapshots(run.execution_id)
    assert snapshots and all("out/passwd" not in s.files for s in snapshots)


@pytest.mark.parametrize(
    "target", ["/etc", "../../elsewhere", "sub/../../../escape", "../../out-not-tracked"]
)
@pytest.mark.parametrize("notifications", [True, False])
def test_a_link_out_of_the_tracked_paths_is_refused_by_the_snapshot_naming_it(
    bench, workspace, target, notifications
):
    out = workspace / "out"
    (out / "sub").mkdir(parents=True)
    (out / "sub" / "f.txt").write_text("f")
    (out / "inside").symlink_to("sub/f.txt")  # inside the tracked paths: fine
    tracking = TRACKING.model_copy(update={"change_notifications": notifications})
    execution = TrackedExecution("e1", "p", tracking, workspace)
    tracker = bench.stack.file_tracker
    tracker.snapshot(execution, "cp1")

    (out / "sub" / "escape").symlink_to(target)
    with pytest.raises(WTBError) as refused:
        tracker.snapshot(execution, "cp2")
    assert "'out/sub/escape'" in str(refused.value) and repr(target) in str(refused.value)
    assert [s.checkpoint_id for s in tracker.snapshots("e1")] == ["cp1"]

    (out / "sub" / "escape").unlink()  # fixed: the next snapshot takes it in its stride
    assert set(tracker.snapshot(execution, "cp3").files) == {"out/sub/f.txt", "out/inside"}


def test_an_ignored_link_out_of_the_tracked_paths_is_left_alone(bench, workspace):
    out = workspace / "out"
    out.mkdir()
    (out / "python").symlink_to("/usr/bin/python3")
    tracking = TRACKING.model_copy(update={"ignore_patterns": ["/out/python"]})
    snapshot = bench.stack.file_tracker.snapshot(
        TrackedExecution("e1", "p", tracking, workspace), "cp1"
    )
    assert snapshot.files == {}


def test_a_tracked_root_that_is_a_link_out_of_the_workspace_is_refused(bench, workspace, tmp_path):
    (tmp_path / "outside").mkdir()
    (workspace / "out").symlink_to(tmp_path / "outside", target_is_directory=True)
    execution = TrackedExecution("e1", "p", TRACKING, workspace)
    with pytest.raises(WTBError, match="'out' is a symbolic link to"):
        bench.stack.file_tracker.snapshot(execution, "cp1")
    assert os.path.islink(workspace / "out")
