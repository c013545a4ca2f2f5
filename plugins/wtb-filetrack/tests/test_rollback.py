"""Rollback, resume and fork put the tracked files back; unsafe or damaged snapshots change
nothing."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from wtb_core import WTBError
from wtb_core.config import FileTrackingConfig
from wtb_core.ports.file_tracker import TrackedExecution

TRACKING = FileTrackingConfig(enabled=True, tracked_paths=["out/"])


def blob_path(data_dir: Path, content: bytes) -> Path:
    digest = hashlib.sha256(content).hexdigest()
    return data_dir / "files" / "objects" / digest[:2] / digest[2:]


def test_rollback_restores_modified_created_and_deleted_files_and_leaves_ignored_ones(
    bench, docs, workspace, checkpoint_after, files
):
    run = bench.run(docs)
    assert files.tree(workspace / "out") == {
        "a.txt": "revised",
        "c.txt": "published",
        "debug.log": "log1\nlog2\n",
        "keep.txt": "keep",
        "new/b.txt": "created by revise",
    }
    rolled = bench.rollback(run.execution_id, checkpoint_after(run.execution_id, "draft"))
    assert rolled.status == "paused"
    assert files.tree(workspace / "out") == {
        "a.txt": "draft",  # modified later: rewritten
        "gone.txt": "deleted by revise",  # deleted later: recreated
        "keep.txt": "keep",
        "debug.log": "log1\nlog2\n",  # ignored (*.log): untouched
    }
    assert not (workspace / "out" / "new").exists()  # created later: removed, with its dir

    finished = bench.resume(run.execution_id)
    assert finished.status == "completed"
    assert files.tree(workspace / "out")["a.txt"] == "revised"
    assert "gone.txt" not in files.tree(workspace / "out")


def test_only_the_files_that_differ_are_written(bench, docs, workspace, checkpoint_after, files):
    run = bench.run(docs)
    files.age(workspace)
    before = files.stats(workspace / "out")
    bench.rollback(run.execution_id, checkpoint_after(run.execution_id, "revise"))
    after = files.stats(workspace / "out")
    assert "c.txt" not in after
    for unchanged in ("a.txt", "keep.txt", "new/b.txt", "debug.log"):
        assert after[unchanged] == before[unchanged], unchanged

    bench.rollback(run.execution_id, checkpoint_after(run.execution_id, "draft"))
    again = files.stats(workspace / "out")
    assert again["keep.txt"] == before["keep.txt"]
    assert again["a.txt"] != before["a.txt"]


def test_files_changed_by_hand_are_compared_by_content(bench, docs, workspace, checkpoint_after):
    run = bench.run(docs)
    keep = workspace / "out" / "keep.txt"
    keep.write_text("KEEP")  # same size, new content: the stat cache cannot vouch for it
    os.chmod(workspace / "out" / "a.txt", 0o600)
    bench.rollback(run.execution_id, checkpoint_after(run.execution_id, "publish"))
    assert keep.read_text() == "keep"
    assert (workspace / "out" / "a.txt").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_a_damaged_blob_fails_the_rollback_naming_the_file_and_changes_nothing(
    bench, docs, workspace, data_dir, checkpoint_after, files, damage
):
    run = bench.run(docs)
    blob = blob_path(data_dir, b"draft")
    assert blob.stat().st_mode & 0o777 == 0o444  # blobs are read-only
    if damage == "corrupt":
        blob.chmod(0o644)
        blob.write_bytes(b"drafty")
        blob.chmod(0o444)
    else:
        blob.unlink()
    before_files, before_stats = files.tree(workspace), files.stats(workspace)
    head = bench.get_execution(run.execution_id).checkpoint_id

    with pytest.raises(WTBError) as caught:
        bench.rollback(run.execution_id, checkpoint_after(run.execution_id, "draft"))
    message = str(caught.value)
    assert "'out/a.txt'" in message and hashlib.sha256(b"draft").hexdigest() in message
    assert ("is corrupt" if damage == "corrupt" else "is missing") in message
    assert "No file was changed" in message
    assert files.tree(workspace) == before_files and files.stats(workspace) == before_stats
    assert bench.get_execution(run.execution_id).checkpoint_id == head


UNSAFE = {
    "dotdot": ({"out/../../escape.txt": None}, "not a relative path"),
    "absolute": ({"{tmp}/escape.txt": None}, "not a relative path"),
    "outside the roots": ({"elsewhere/x.txt": None}, "outside the tracked paths"),
    "link to an absolute path": ({"out/l": {"link": "/etc"}}, "outside the tracked roots"),
    "link up and out": ({"out/l": {"link": "../../escape"}}, "outside the tracked roots"),
    "entry inside an entry": (
        {"out/l": {"link": "keep.txt"}, "out/l/x.txt": None},
        "which the snapshot lists too",
    ),
    "malformed": ({"out/x.txt": {"hash": "nope", "size": 1, "mode": 420}}, "malformed"),
}


@pytest.mark.parametrize("case", UNSAFE)
def test_unsafe_snapshots_are_refused_and_change_nothing(
    bench, docs, tmp_path, checkpoint_after, files, case
):
    run = bench.run(docs)
    entries, expected = UNSAFE[case]
    good = {"hash": hashlib.sha256(b"x").hexdigest(), "size": 1, "mode": 0o644}
    manifest = {path.format(tmp=tmp_path): entry or good for path, entry in entries.items()}
    checkpoint = checkpoint_after(run.execution_id, "draft")
    bench.stack.metadata.save_file_snapshot(run.execution_id, checkpoint, manifest)
    # Every file but the data directory's (whose database records the rollback's intent
    # in the outbox, closed as compensated when the restore is refused).
    before = _outside_data(files.stats(tmp_path))

    with pytest.raises(WTBError, match=expected):
        bench.rollback(run.execution_id, checkpoint)
    assert _outside_data(files.stats(tmp_path)) == before
    [intent] = bench.stack.metadata.operations(("compensated",))
    assert intent.kind == "rollback" and intent.execution_id == run.execution_id


def _outside_data(stats: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    return {path: stat for path, stat in stats.items() if not path.startswith("data/")}


def test_a_symbolic_link_above_a_tracked_root_is_refused(bench, workspace, tmp_path):
    outside = tmp_path / "outside"
    (outside / "out").mkdir(parents=True)
    (workspace / "data" / "out").mkdir(parents=True)
    (workspace / "data" / "out" / "f.txt").write_text("mine")
    tracker = bench.stack.file_tracker
    execution = TrackedExecution(
        "e1", "p", FileTrackingConfig(enabled=True, tracked_paths=["data/out"]), workspace
    )
    tracker.snapshot(execution, "cp1")
    (workspace / "data" / "out" / "f.txt").unlink()
    (workspace / "data" / "out").rmdir()
    (workspace / "data").rmdir()
    (workspace / "data").symlink_to(outside)

    with pytest.raises(WTBError, match="'data', above the tracked path 'data/out'"):
        tracker.restore(execution, "cp1")
    assert list(outside.rglob("*")) == [outside / "out"]


def test_tracked_symbolic_links_are_restored_and_never_written_through(bench, workspace, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    out = workspace / "out"
    (out / "sub").mkdir(parents=True)
    (out / "sub" / "f.txt").write_text("in a real directory")
    (out / "latest").symlink_to("sub/f.txt")
    tracker = bench.stack.file_tracker
    execution = TrackedExecution("e1", "p", TRACKING, workspace)
    snapshot = tracker.snapshot(execution, "cp1")
    [stored] = bench.stack.metadata.file_snapshots("e1")
    assert stored.commit.manifest["out/latest"] == {"link": "sub/f.txt"}
    assert set(snapshot.files) == {"out/sub/f.txt", "out/latest"}

    # A node replaces the directory by a link leading out of the workspace.
    (out / "sub" / "f.txt").unlink()
    (out / "sub").rmdir()
    (out / "sub").symlink_to(outside, target_is_directory=True)
    (out / "latest").unlink()

    tracker.restore(execution, "cp1")
    assert not (out / "sub").is_symlink()
    assert (out / "sub" / "f.txt").read_text() == "in a real directory"
    assert os.readlink(out / "latest") == "sub/f.txt"
    assert list(outside.iterdir()) == []


def test_an_ignored_entry_in_the_way_is_refused(bench, workspace):
    out = workspace / "out"
    out.mkdir()
    (out / "report").write_text("a file")
    tracker = bench.stack.file_tracker
    execution = TrackedExecution("e1", "p", TRACKING, workspace)
    tracker.snapshot(execution, "cp1")
    (out / "report").unlink()
    (out / "report").mkdir()
    (out / "report" / "trace.log").write_text("ignored, so not the tracker's to delete")

    with pytest.raises(WTBError, match=r"deleting 'out/report/trace\.log', which is not tracked"):
        tracker.restore(execution, "cp1")
    assert (out / "report" / "trace.log").exists()


def test_a_fork_resumes_with_its_own_files_after_the_parent_changed_the_workspace(
    bench, docs, workspace, checkpoint_after, files
):
    parent = bench.run(docs)
    draft_cp = checkpoint_after(parent.execution_id, "draft")
    fork = bench.fork(parent.execution_id, draft_cp)
    assert [s.checkpoint_id for s in bench.get_file_snapshots(fork.execution_id)][-1] == draft_cp

    (workspace / "out" / "a.txt").write_text("the parent's workspace moved on")
    (workspace / "out" / "stray.txt").write_text("made after the fork point")
    bench.rollback(parent.execution_id, checkpoint_after(parent.execution_id, "publish"))

    resumed = bench.resume(fork.execution_id)
    assert resumed.status == "completed"
    assert files.tree(workspace / "out") == {
        "a.txt": "revised",  # revise ran in the fork from the draft's files
        "c.txt": "published",
        "debug.log": "log1\nlog2\nlog2\n",
        "keep.txt": "keep",
        "new/b.txt": "created by revise",
    }
    bench.rollback(fork.execution_id, draft_cp)
    assert files.tree(workspace / "out")["gone.txt"] == "deleted by revise"


def test_rollback_without_a_snapshot_says_so(bench, workspace, make_docs):
    manual = FileTrackingConfig(enabled=True, tracked_paths=["out"], commit_on="manual")
    run = bench.run(make_docs("manual", manual))
    first, *_, last = bench.get_checkpoints(run.execution_id)
    with pytest.raises(WTBError, match="no file snapshot at or before checkpoint"):
        bench.rollback(run.execution_id, last.checkpoint_id)

    committed = bench.commit_files(run.execution_id)  # at the head: the finished files
    assert committed.checkpoint_id == last.checkpoint_id
    (workspace / "out" / "a.txt").write_text("edited after the commit")
    bench.rollback(run.execution_id, last.checkpoint_id)
    assert (workspace / "out" / "a.txt").read_text() == "revised"
    with pytest.raises(WTBError, match="no file snapshot"):
        bench.rollback(run.execution_id, first.checkpoint_id)


def test_a_checkpoint_without_its_own_snapshot_uses_the_latest_before_it(
    bench, docs, workspace, checkpoint_after, files
):
    run = bench.run(docs)
    revise_cp = checkpoint_after(run.execution_id, "revise")
    updated = bench.update_state(run.execution_id, {"step": 9}, as_node="publish")
    assert updated.checkpoint_id not in {
        s.checkpoint_id for s in bench.get_file_snapshots(run.execution_id)
    }
    bench.rollback(run.execution_id, revise_cp)
    assert "c.txt" not in files.tree(workspace / "out")
    bench.rollback(run.execution_id, updated.checkpoint_id)  # falls back to publish's snapshot
    assert files.tree(workspace / "out")["c.txt"] == "published"
