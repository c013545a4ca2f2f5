"""Incremental snapshots driven by the change monitor (Linux inotify) see every change a
full scan sees, look at the changed paths alone, and fall back to a full scan whenever
they lose track."""

from __future__ import annotations

import hashlib
import mmap
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pathspec
import pytest

import wtb_filetrack.tracker
import wtb_filetrack.tree
from wtb_core.config import FileTrackingConfig
from wtb_core.ports.file_tracker import TrackedExecution
from wtb_filetrack import monitor
from wtb_filetrack.manifest import link_digest

pytestmark = pytest.mark.skipif(not monitor.available(), reason="needs Linux inotify")

IGNORE = ["*.tmp", "cache/"]
TRACKING = FileTrackingConfig(enabled=True, tracked_paths=["out"], ignore_patterns=IGNORE)


def on_disk(workspace: Path) -> dict[str, str]:
    """What a snapshot of ``out/`` must list, computed independently of the tracker."""
    spec = pathspec.GitIgnoreSpec.from_lines(IGNORE)
    files = {}
    for parent, dirs, names in os.walk(workspace / "out"):
        rel_parent = Path(parent).relative_to(workspace).as_posix()
        dirs[:] = [d for d in dirs if not spec.match_file(f"{rel_parent}/{d}/")]
        for name in names + [d for d in dirs if os.path.islink(os.path.join(parent, d))]:
            rel, path = f"{rel_parent}/{name}", os.path.join(parent, name)
            if spec.match_file(rel):
                continue
            if os.path.islink(path):
                files[rel] = link_digest(os.readlink(path))
            else:
                files[rel] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return files


@pytest.fixture
def full_scans(monkeypatch) -> list[str]:
    """One item per scan of every file an incremental snapshot makes."""
    scans: list[str] = []
    scan = wtb_filetrack.tree.scan

    def counting(workspace, *args, **kwargs):
        scans.append(workspace)
        return scan(workspace, *args, **kwargs)

    monkeypatch.setattr(wtb_filetrack.tree, "scan", counting)
    return scans


def changes(ws: Path) -> list[tuple[str, Callable[[], object]]]:
    out, outside = ws / "out", ws / "elsewhere"

    def write(rel: str, text: str) -> Callable[[], object]:
        def do() -> None:
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_text(text)

        return do

    def replace_dir_by_file() -> None:
        shutil.rmtree(out / "b")
        (out / "b").write_text("a file where a directory was")

    def replace_file_by_dir() -> None:
        (out / "a" / "two.txt").unlink()
        write("a/two.txt/inside.txt", "a directory where a file was")()

    def recreate_dir() -> None:
        shutil.rmtree(out / "new")
        write("new/other.txt", "same name, other directory")()

    def move_in() -> None:
        (outside / "deep" / "er").mkdir(parents=True)
        (outside / "deep" / "er" / "x.txt").write_text("made elsewhere")
        os.rename(outside / "deep", out / "moved-in")

    def move_within() -> None:
        (out / "c").mkdir()
        os.rename(out / "new", out / "c" / "new")

    def mmap_write() -> None:
        with open(out / "one.txt", "r+b") as f, mmap.mmap(f.fileno(), 0) as mapped:
            mapped[:3] = b"MAP"

    def atomic_replace() -> None:
        (out / ".one.tmp").write_text("replaced atomically")
        os.replace(out / ".one.tmp", out / "one.txt")

    return [
        ("modify in place, same size", write("a/one.txt", "ONE")),
        ("create in an existing directory", write("a/three.txt", "three")),
        ("delete", lambda: (out / "a" / "three.txt").unlink()),
        ("rename within a directory", lambda: os.rename(out / "a/one.txt", out / "a/uno.txt")),
        ("rename across directories", lambda: os.rename(out / "a/uno.txt", out / "one.txt")),
        ("chmod", lambda: os.chmod(out / "one.txt", 0o600)),
        ("touch, content unchanged", lambda: os.utime(out / "one.txt")),
        ("nested directories with files", write("new/x/y/z.txt", "deep")),
        ("delete a directory tree", lambda: shutil.rmtree(out / "new" / "x")),
        ("recreate a directory of the same name", recreate_dir),
        ("a file replaces a directory", replace_dir_by_file),
        ("a directory replaces a file", replace_file_by_dir),
        ("move a directory within the tree", move_within),
        ("write in the moved directory", write("c/new/after.txt", "after the move")),
        ("move a directory out of the tree", lambda: os.rename(out / "c", outside / "c")),
        ("write in the directory moved out", lambda: (outside / "c" / "late.txt").write_text("x")),
        ("move a directory into the tree", move_in),
        ("symbolic link", lambda: os.symlink("a/two.txt/inside.txt", out / "link")),
        ("retarget the link", lambda: (os.unlink(out / "link"), os.symlink("b", out / "link"))),
        ("ignored file and directory", write("cache/big.bin", "ignored")),
        ("write through a memory mapping", mmap_write),
        ("atomic replace over a tracked file", atomic_replace),
        ("empty the tree", lambda: [shutil.rmtree(p) for p in out.iterdir() if p.is_dir()]),
    ]


def test_every_change_a_full_scan_sees_is_seen_without_one(bench, workspace, full_scans):
    out = workspace / "out"
    for rel in ("a/one.txt", "a/two.txt", "b/deep/f.txt", "b/g.txt"):
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(rel)
    (workspace / "elsewhere").mkdir()
    tracker = bench.stack.file_tracker
    execution = TrackedExecution("e1", "p", TRACKING, workspace)
    assert tracker.snapshot(execution, "cp0").files == on_disk(workspace)

    for step, (what, change) in enumerate(changes(workspace), start=1):
        change()
        snapshot = tracker.snapshot(execution, f"cp{step}")
        assert snapshot.files == on_disk(workspace), what
    assert len(full_scans) == 1  # the first snapshot's: every later one used the monitor


def test_a_snapshot_looks_only_at_the_paths_that_changed(bench, workspace, monkeypatch):
    out = workspace / "out"
    for i in range(300):
        (out / f"d{i % 10}").mkdir(parents=True, exist_ok=True)
        (out / f"d{i % 10}" / f"f{i}.txt").write_text(str(i))
    tracker = bench.stack.file_tracker
    execution = TrackedExecution("e1", "p", TRACKING, workspace)
    tracker.snapshot(execution, "cp1")

    looked: list[str] = []
    lstat = os.lstat

    def counting(path, *args, **kwargs):
        looked.append(str(path))
        return lstat(path, *args, **kwargs)

    (out / "d3" / "f3.txt").write_text("changed")
    monkeypatch.setattr(wtb_filetrack.tree.os, "lstat", counting)
    snapshot = tracker.snapshot(execution, "cp2")
    assert snapshot.files["out/d3/f3.txt"] == hashlib.sha256(b"changed").hexdigest()
    assert [p for p in looked if p.startswith(f"{out}/")] == [str(out / "d3" / "f3.txt")]


def test_an_overflowing_event_queue_falls_back_to_a_full_scan(bench, workspace, full_scans):
    out = workspace / "out"
    out.mkdir()
    (out / "a.txt").write_text("a")
    (out / "b.txt").write_text("b")
    tracker = bench.stack.file_tracker
    execution = TrackedExecution("e1", "p", TRACKING, workspace)
    tracker.snapshot(execution, "cp1")

    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    for _ in range(limit // 2 + 10):  # alternating, so the kernel cannot merge them
        os.utime(out / "a.txt")
        os.utime(out / "b.txt")
    (out / "a.txt").write_text("changed while the queue overflowed")
    (out / "c.txt").write_text("created while the queue overflowed")
    assert tracker.snapshot(execution, "cp2").files == on_disk(workspace)
    assert len(full_scans) == 2

    (out / "b.txt").write_text("back on the monitor")
    assert tracker.snapshot(execution, "cp3").files == on_disk(workspace)
    assert len(full_scans) == 2


@pytest.mark.parametrize("failure", ["no instance", "no watch"])
def test_without_inotify_resources_snapshots_scan_every_file(
    bench, workspace, full_scans, monkeypatch, failure
):
    def refuse(*args, **kwargs):
        raise OSError(24 if failure == "no instance" else 28, "limit reached")

    target = "__init__" if failure == "no instance" else "add_watch"
    monkeypatch.setattr(monitor.INotify, target, refuse)
    out = workspace / "out"
    out.mkdir()
    (out / "a.txt").write_text("a")
    tracker = bench.stack.file_tracker
    execution = TrackedExecution("e1", "p", TRACKING, workspace)
    for step in range(3):
        (out / f"n{step}.txt").write_text(str(step))
        assert tracker.snapshot(execution, f"cp{step}").files == on_disk(workspace)
    assert len(full_scans) == 3


def test_a_replaced_tracked_root_is_scanned_again(bench, workspace, full_scans):
    out = workspace / "out"
    out.mkdir()
    (out / "a.txt").write_text("a")
    tracker = bench.stack.file_tracker
    execution = TrackedExecution("e1", "p", TRACKING, workspace)
    tracker.snapshot(execution, "cp1")
    shutil.rmtree(out)
    out.mkdir()
    (out / "b.txt").write_text("b")
    assert tracker.snapshot(execution, "cp2").files == on_disk(workspace)
    assert len(full_scans) == 2


def test_only_the_most_recently_used_workspaces_are_watched(
    bench, tmp_path, full_scans, monkeypatch
):
    monkeypatch.setattr(wtb_filetrack.tracker, "MAX_MONITORS", 2)
    tracker = bench.stack.file_tracker
    executions = []
    for name in ("w1", "w2", "w3"):
        (tmp_path / name / "out").mkdir(parents=True)
        executions.append(TrackedExecution(name, "p", TRACKING, tmp_path / name))
    for execution in executions:
        tracker.snapshot(execution, "cp1")
    assert len(full_scans) == 3
    tracker.snapshot(executions[2], "cp2")  # still watched
    tracker.snapshot(executions[1], "cp2")  # still watched
    assert len(full_scans) == 3
    (tmp_path / "w1" / "out" / "late.txt").write_text("while w1 was not watched")
    snapshot = tracker.snapshot(executions[0], "cp2")  # its monitor went to w3
    assert len(full_scans) == 4
    assert snapshot.files == on_disk(tmp_path / "w1")


def test_turned_off_every_snapshot_scans(bench, workspace, full_scans):
    out = workspace / "out"
    out.mkdir()
    tracking = TRACKING.model_copy(update={"change_notifications": False})
    execution = TrackedExecution("e1", "p", tracking, workspace)
    for step in range(3):
        (out / f"n{step}.txt").write_text(str(step))
        assert bench.stack.file_tracker.snapshot(execution, f"cp{step}").files == on_disk(workspace)
    assert len(full_scans) == 3


def test_snapshots_after_a_restore_see_what_the_restore_wrote(bench, workspace, full_scans):
    out = workspace / "out"
    for rel in ("a.txt", "sub/b.txt", "sub/deep/c.txt"):
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(rel)
    tracker = bench.stack.file_tracker
    execution = TrackedExecution("e1", "p", TRACKING, workspace)
    first = tracker.snapshot(execution, "cp1")
    shutil.rmtree(out / "sub")
    (out / "a.txt").write_text("changed")
    (out / "new" / "x").mkdir(parents=True)
    (out / "new" / "x" / "y.txt").write_text("created")
    assert tracker.snapshot(execution, "cp2").files == on_disk(workspace)

    tracker.restore(execution, "cp1")
    again = tracker.snapshot(execution, "cp3")
    assert again.files == first.files == on_disk(workspace)
    assert again.commit_id == first.commit_id
    assert len(full_scans) == 1
