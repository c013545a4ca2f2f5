"""Garbage collection, diffs, the ``wtb files`` / ``wtb gc`` commands, and the plugin's
registration."""

from __future__ import annotations

import json
from typing import TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from typer.testing import CliRunner

import wtb_filetrack.plugin
from wtb_core import (
    ConfigurationError,
    StackConfig,
    WorkflowProject,
    WTBTestBench,
    current_workspace,
    hookspecs,
)
from wtb_core.cli.app import build_app
from wtb_core.config import FileTrackingConfig
from wtb_core.registry import PluginRegistry
from wtb_filetrack.diff import diff_snapshots
from wtb_filetrack.gc import collect_garbage


def blobs(data_dir) -> set[str]:
    objects = data_dir / "files" / "objects"
    return {p.parent.name + p.name for p in objects.rglob("*") if p.is_file()}


def test_gc_frees_only_what_no_snapshot_references(
    bench, docs, workspace, data_dir, checkpoint_after, files
):
    kept = bench.run(docs)
    (workspace / "out" / "only-b.txt").write_text("only the second run saw this")
    dropped = bench.run(docs)
    before = blobs(data_dir)
    assert len(before) == 7

    idle = collect_garbage(bench)
    assert (idle.commits_deleted, idle.blobs_deleted, idle.blobs_kept) == (0, 0, 7)

    bench.delete_execution(dropped.execution_id)
    report = collect_garbage(bench)
    assert report.commits_deleted == 2  # only-b.txt with the draft's files, and without
    assert (report.blobs_deleted, report.bytes_freed) == (1, len("only the second run saw this"))
    assert report.blobs_kept == 6 and len(blobs(data_dir)) == 6

    bench.rollback(kept.execution_id, checkpoint_after(kept.execution_id, "draft"))
    assert files.tree(workspace / "out")["a.txt"] == "draft"


def test_gc_keeps_young_unreferenced_blobs_while_an_execution_runs(bench, docs, workspace):
    (workspace / "out").mkdir()
    (workspace / "out" / "orphan.txt").write_text("written by a snapshot in progress")
    dropped = bench.run(docs)
    bench.delete_execution(dropped.execution_id)
    (workspace / "out" / "orphan.txt").unlink()
    other = bench.run(docs)
    # As another process's execution would look while it snapshots.
    bench.stack.metadata.update_execution(
        other.execution_id, {"status": "running", "owner": "another-host:4242"}
    )
    report = collect_garbage(bench)
    assert (report.blobs_deleted, report.recent_kept) == (0, 1)

    bench.stack.metadata.update_execution(other.execution_id, {"status": "completed"})
    assert collect_garbage(bench).blobs_deleted == 1


def test_diff_snapshots_lists_added_modified_and_deleted_paths(bench, docs, checkpoint_after):
    run = bench.run(docs)
    draft = checkpoint_after(run.execution_id, "draft")
    publish = checkpoint_after(run.execution_id, "publish")
    found = diff_snapshots(bench, run.execution_id, draft, publish)
    assert found.added == ["out/c.txt", "out/new/b.txt"]
    assert found.modified == ["out/a.txt"]
    assert found.deleted == ["out/gone.txt"]
    assert (found.checkpoint_a, found.checkpoint_b) == (draft, publish)
    assert diff_snapshots(bench, run.execution_id, publish, publish).added == []


@pytest.fixture
def wtb(monkeypatch, data_dir):
    """``wtb(*args)``: the command line with this plugin, on the test's data directory,
    its bench loading the installed plugin through its entry point."""
    monkeypatch.setenv("WTB_LOAD_PLUGINS", "cas")
    monkeypatch.setenv("WTB_FILE_TRACKER", "cas")
    monkeypatch.setenv("COLUMNS", "200")
    app = build_app(PluginRegistry([wtb_filetrack.plugin], load_entrypoints=False))
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["--data-dir", str(data_dir), *args])


def test_wtb_files_lists_the_snapshots_of_an_execution(bench, docs, wtb):
    run = bench.run(docs)
    shown = wtb("files", run.execution_id)
    assert shown.exit_code == 0, shown.output
    assert f"5 file snapshots of {run.execution_id}" in shown.stdout
    assert wtb("files", "list", run.execution_id).stdout == shown.stdout

    listed = json.loads(wtb("--json", "files", run.execution_id).stdout)
    snapshots = bench.get_file_snapshots(run.execution_id)
    assert [r["checkpoint_id"] for r in listed] == [s.checkpoint_id for s in snapshots]
    assert [r["commit_id"][:12] for r in listed][2] in shown.stdout
    assert [(r["files"], r["bytes"]) for r in listed] == [
        (0, 0),
        (0, 0),
        (3, len("draft") + len("keep") + len("deleted by revise")),
        (3, len("revised") + len("keep") + len("created by revise")),
        (4, len("revised") + len("keep") + len("created by revise") + len("published")),
    ]


def test_wtb_files_diff_shows_what_changed(bench, docs, wtb, checkpoint_after):
    run = bench.run(docs)
    draft = checkpoint_after(run.execution_id, "draft")
    publish = checkpoint_after(run.execution_id, "publish")
    shown = wtb("files", "diff", run.execution_id, draft, publish[:-4])  # a unique prefix
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[1:] == [
        "+ out/c.txt",
        "+ out/new/b.txt",
        "~ out/a.txt",
        "- out/gone.txt",
        "2 added, 1 modified, 1 deleted",
    ]
    as_json = json.loads(wtb("--json", "files", "diff", run.execution_id, draft, publish).stdout)
    assert as_json["deleted"] == ["out/gone.txt"]


def test_wtb_gc_reports_what_it_freed(bench, docs, workspace, wtb):
    bench.run(docs)
    (workspace / "out" / "extra.txt").write_text("12345")
    dropped = bench.run(docs)
    bench.delete_execution(dropped.execution_id)
    shown = wtb("gc")
    assert shown.exit_code == 0, shown.output
    assert "1 blobs, freed 5 bytes; kept 6 referenced blobs" in shown.stdout
    assert json.loads(wtb("--json", "gc").stdout)["blobs_deleted"] == 0


def test_commands_fail_with_one_line_for_an_unknown_execution(wtb):
    shown = wtb("files", "nope")
    assert shown.exit_code == 1
    assert shown.stderr.startswith("error: execution 'nope' does not exist")


def test_the_installed_plugin_registers_cas_through_its_entry_point(monkeypatch):
    monkeypatch.setenv("WTB_LOAD_PLUGINS", "cas")
    registry = PluginRegistry()
    assert "cas" in registry.names("file_tracker")
    [plugin] = [p for p in registry.describe() if p.name == "cas"]
    assert plugin.origin == "entry point"
    assert set(plugin.hooks) == {"wtb_register_file_trackers", "wtb_register_commands"}
    assert {"wtb_register_file_trackers", "wtb_register_commands"} <= set(dir(hookspecs))


def test_a_second_bench_on_the_same_data_dir_restores_files(
    bench, docs, data_dir, workspace, checkpoint_after, files
):
    run = bench.run(docs)
    draft = checkpoint_after(run.execution_id, "draft")
    bench.close()
    config = StackConfig(data_dir=data_dir, file_tracker="cas")
    with WTBTestBench(
        config=config, plugins=[wtb_filetrack.plugin], load_entrypoints=False, workspace=workspace
    ) as again:
        again.register_project(bench.get_project(docs))
        again.rollback(run.execution_id, draft)
    assert files.tree(workspace / "out")["a.txt"] == "draft"


def test_tracking_files_without_this_tracker_says_what_to_install(data_dir):
    with WTBTestBench(data_dir=data_dir, load_entrypoints=False) as bench:
        project = WorkflowProject("p", lambda: None, file_tracking=FileTrackingConfig(enabled=True))
        with pytest.raises(ConfigurationError, match="pip install wtb-filetrack"):
            bench.register_project(project)


class _Report(TypedDict, total=False):
    step: int


def _write_report(state: _Report) -> _Report:
    out = current_workspace() / "out"
    out.mkdir(exist_ok=True)
    (out / "report.md").write_text(f"step {state.get('step', 0)}")
    return {"step": state.get("step", 0) + 1}


def _reports() -> StateGraph:
    g = StateGraph(_Report)
    g.add_node("first", _write_report)
    g.add_node("second", _write_report)
    g.add_edge(START, "first")
    g.add_edge("first", "second")
    g.add_edge("second", END)
    return g


def test_installing_the_plugin_and_enabling_tracking_is_enough(data_dir, workspace):
    with WTBTestBench(  # no file_tracker named: cas is the only one installed
        data_dir=data_dir,
        plugins=[wtb_filetrack.plugin],
        load_entrypoints=False,
        workspace=workspace,
    ) as bench:
        assert bench.stack.file_tracker.name == "cas"
        tracking = FileTrackingConfig(enabled=True, tracked_paths=["out/"])
        bench.register_project(WorkflowProject("reports", _reports, file_tracking=tracking))
        run = bench.run("reports", {"step": 0})
        assert (workspace / "out" / "report.md").read_text() == "step 1"
        [first] = [c for c in bench.get_checkpoints(run.execution_id) if "first" in c.nodes]
        bench.rollback(run.execution_id, first.checkpoint_id)
    assert (workspace / "out" / "report.md").read_text() == "step 0"


def test_wtb_plugins_says_cas_is_the_file_tracker_and_why():
    app = build_app(PluginRegistry([wtb_filetrack.plugin], load_entrypoints=False))
    shown = CliRunner().invoke(app, ["plugins"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "file tracker: cas (the only one installed)" in shown.stdout
