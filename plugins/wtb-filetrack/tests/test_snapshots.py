"""Snapshots: the manifest and its commit id, blobs stored once, the stat cache, limits."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from wtb_core import ConfigurationError
from wtb_core.config import FileTrackingConfig
from wtb_core.ports.file_tracker import FileTracker, TrackedExecution
from wtb_filetrack.blobs import BlobStore
from wtb_filetrack.tracker import CasFileTracker

TRACKING = FileTrackingConfig(enabled=True, tracked_paths=["out/"])


def blob_count(data_dir) -> int:
    return sum(1 for p in (data_dir / "files" / "objects").rglob("*") if p.is_file())


@pytest.fixture
def counted(monkeypatch) -> list[str]:
    """Paths of the files hashed and stored from now on."""
    hashed: list[str] = []
    put_file = BlobStore.put_file

    def counting(self, path):
        hashed.append(os.path.basename(path))
        return put_file(self, path)

    monkeypatch.setattr(BlobStore, "put_file", counting)
    return hashed


def test_the_cas_tracker_implements_the_port(bench):
    assert isinstance(bench.stack.file_tracker, CasFileTracker)
    assert isinstance(bench.stack.file_tracker, FileTracker)


def test_every_checkpoint_gets_a_file_commit_of_posix_paths(bench, docs, checkpoint_after):
    run = bench.run(docs)
    snapshots = bench.get_file_snapshots(run.execution_id)
    checkpoints = bench.get_checkpoints(run.execution_id)
    assert [s.checkpoint_id for s in snapshots] == [c.checkpoint_id for c in checkpoints]
    draft = next(
        s for s in snapshots if s.checkpoint_id == checkpoint_after(run.execution_id, "draft")
    )
    assert draft.files == {
        "out/a.txt": hashlib.sha256(b"draft").hexdigest(),
        "out/gone.txt": hashlib.sha256(b"deleted by revise").hexdigest(),
        "out/keep.txt": hashlib.sha256(b"keep").hexdigest(),
    }
    stored = {
        s.checkpoint_id: s.commit for s in bench.stack.metadata.file_snapshots(run.execution_id)
    }
    commit = stored[draft.checkpoint_id]
    assert commit.id == draft.commit_id
    assert commit.manifest["out/a.txt"] == {
        "hash": hashlib.sha256(b"draft").hexdigest(),
        "size": 5,
        "mode": 0o644,
    }
    assert (commit.file_count, commit.total_bytes) == (3, len(b"draftdeleted by revisekeep"))
    assert snapshots[0].files == {}  # the input checkpoint: nothing written yet


def test_identical_content_is_stored_once_across_executions_and_projects(
    bench, make_docs, data_dir
):
    bench.run(make_docs("docs"))
    stored = blob_count(data_dir)
    assert stored == 6  # the six distinct contents the three nodes write
    bench.run(make_docs("docs"))
    bench.run(make_docs("docs-too"))
    assert blob_count(data_dir) == stored


def test_blobs_are_read_only_and_named_by_their_hash(bench, docs, data_dir):
    bench.run(docs)
    for blob in (data_dir / "files" / "objects").rglob("*"):
        if blob.is_file():
            assert blob.stat().st_mode & 0o777 == 0o444
            name = blob.parent.name + blob.name
            assert hashlib.sha256(blob.read_bytes()).hexdigest() == name


@pytest.fixture(params=[True, False], ids=["notifications", "stat-scan"])
def tracking(request) -> FileTrackingConfig:
    """``out/`` tracked incrementally, with and without the change monitor."""
    return TRACKING.model_copy(update={"change_notifications": request.param})


def test_incremental_snapshots_hash_only_the_files_that_changed(
    bench, workspace, files, counted, tracking
):
    out = workspace / "out"
    for i in range(20):
        (out / f"d{i % 3}").mkdir(parents=True, exist_ok=True)
        (out / f"d{i % 3}" / f"f{i}.txt").write_text(f"file {i}")
    files.age(workspace)
    tracker = bench.stack.file_tracker
    execution = TrackedExecution("e1", "p", tracking, workspace)
    tracker.snapshot(execution, "cp1")
    assert len(counted) == 20

    counted.clear()
    (out / "d1" / "f4.txt").write_text("changed")
    (out / "d2" / "new.txt").write_text("new")
    os.chmod(out / "d0" / "f0.txt", 0o600)  # mode only: no need to read it
    second = tracker.snapshot(execution, "cp2")
    assert sorted(counted) == ["f4.txt", "new.txt"]
    assert second.files["out/d1/f4.txt"] == hashlib.sha256(b"changed").hexdigest()

    counted.clear()
    full = TrackedExecution(
        "e1", "p", tracking.model_copy(update={"snapshot_strategy": "full"}), workspace
    )
    again = tracker.snapshot(full, "cp3")
    assert len(counted) == 21
    assert again.commit_id == second.commit_id


def test_a_racily_clean_file_is_hashed_again(bench, workspace, counted, tracking):
    out = workspace / "out"
    out.mkdir()
    racy = out / "racy.txt"
    racy.write_text("one")
    tracker = bench.stack.file_tracker
    execution = TrackedExecution("e1", "p", tracking, workspace)
    first = tracker.snapshot(execution, "cp1")  # racy.txt was modified just now

    stat = racy.stat()
    racy.write_text("two")  # same size, and the same stat as far as the cache can tell
    os.utime(racy, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert racy.stat().st_ino == stat.st_ino
    second = tracker.snapshot(execution, "cp2")
    assert second.files["out/racy.txt"] == hashlib.sha256(b"two").hexdigest()
    assert second.commit_id != first.commit_id

    time.sleep(0.02)  # hashed well after its last change: now the stat vouches for it
    tracker.snapshot(execution, "cp3")
    counted.clear()
    tracker.snapshot(execution, "cp4")
    assert counted == []


def test_ignore_patterns_follow_gitignore_rules(bench, workspace):
    out = workspace / "out"
    for path in ("a.txt", "b.tmp", "cache/x.bin", "sub/cache/y.bin", "keep/z.txt", "keep/w.md"):
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text(path)
    tracking = FileTrackingConfig(
        enabled=True,
        tracked_paths=["out"],
        ignore_patterns=["*.tmp", "cache/", "/out/keep/*", "!/out/keep/z.txt"],
    )
    snapshot = bench.stack.file_tracker.snapshot(
        TrackedExecution("e1", "p", tracking, workspace), "cp1"
    )
    assert sorted(snapshot.files) == ["out/a.txt", "out/keep/z.txt"]


def test_max_snapshots_keeps_the_newest_links(bench, workspace):
    (workspace / "out").mkdir()
    tracking = TRACKING.model_copy(update={"max_snapshots": 3})
    execution = TrackedExecution("e1", "p", tracking, workspace)
    tracker = bench.stack.file_tracker
    for i in range(5):
        (workspace / "out" / "n.txt").write_text(str(i))
        tracker.snapshot(execution, f"cp{i}")
    kept = tracker.snapshots("e1")
    assert [s.checkpoint_id for s in kept] == ["cp2", "cp3", "cp4"]
    assert kept[0].files["out/n.txt"] == hashlib.sha256(b"2").hexdigest()


def test_wtbs_own_storage_inside_a_tracked_root_is_not_tracked(bench, workspace, data_dir):
    whole = FileTrackingConfig(enabled=True, tracked_paths=["."])
    (workspace / "notes.txt").write_text("tracked")
    snapshot = bench.stack.file_tracker.snapshot(
        TrackedExecution("e1", "p", whole, data_dir.parent), "cp1"
    )
    assert "ws/notes.txt" in snapshot.files
    assert not [p for p in snapshot.files if p.startswith("data/")]


@pytest.mark.parametrize(
    ("paths", "roots"),
    [
        (["./data/", "./outputs/"], ["data", "outputs"]),
        (["out", "out/sub", "other/"], ["other", "out"]),
        (["."], [""]),
        (["./", "out"], [""]),
    ],
)
def test_tracked_paths_are_normalised(paths, roots, workspace):
    assert FileTrackingConfig(tracked_paths=paths).tracked_roots(workspace) == roots


@pytest.mark.parametrize("path", ["../elsewhere", "/etc", "out/../../x"])
def test_tracked_paths_outside_the_workspace_are_refused(path, workspace):
    with pytest.raises(ConfigurationError, match="leaves the workspace"):
        FileTrackingConfig(tracked_paths=[path]).tracked_roots(workspace)


def test_big_and_many_files_are_stored_on_the_thread_pool(bench, workspace, data_dir):
    out = workspace / "out"
    out.mkdir()
    big = {f"big{i}.bin": os.urandom(3 << 20) for i in range(3)}  # streamed, 9 MiB in all
    small = {f"s{i}.txt": f"small {i}".encode() for i in range(70)}
    for name, content in {**big, **small}.items():
        (out / name).write_bytes(content)
    tracker = bench.stack.file_tracker
    execution = TrackedExecution("e1", "p", TRACKING, workspace)
    snapshot = tracker.snapshot(execution, "cp1")
    for name, content in {**big, **small}.items():
        digest = hashlib.sha256(content).hexdigest()
        assert snapshot.files[f"out/{name}"] == digest
        blob = data_dir / "files" / "objects" / digest[:2] / digest[2:]
        assert blob.read_bytes() == content

    (out / "big1.bin").write_bytes(b"small now")
    (out / "big2.bin").unlink()
    tracker.restore(execution, "cp1")
    assert (out / "big1.bin").read_bytes() == big["big1.bin"]
    assert (out / "big2.bin").read_bytes() == big["big2.bin"]
