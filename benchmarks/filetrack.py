"""wtb-filetrack's ``cas`` tracker against git on 10,000 files of 4 KiB random bytes.

1. The first snapshot (every file hashed and stored, the commit saved in a real SQLite
   metadata database) vs ``git init && git add -A && git commit -q`` of the same tree in a
   fresh repository. Goal ≤ 0.8× git's time; it must not be slower than git.
2. A second snapshot after 10 files changed (the change monitor names them; the stat cache
   would skip the rest). Must be ≤ 5% of the first; goal 2%. Also reported: the same with
   ``change_notifications=False`` (one ``lstat`` per file).
3. A restore of the first snapshot, which must rewrite exactly those 10 files (files whose
   inode or mtime changed are counted).

Each measurement is repeated (``--runs``, fresh repository and database each time, git
and the tracker interleaved) and the medians are compared. Every timed step starts after
``os.sync()`` so none pays for the write-back of the one before. Exits 1 when a must fails.

    .venv/bin/python -m benchmarks.filetrack [--files 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wtb_core.config import FileTrackingConfig, StackConfig
from wtb_core.ports.file_tracker import TrackedExecution
from wtb_core.storage.database import Database
from wtb_core.storage.metadata import MetadataStore
from wtb_filetrack.tracker import CasFileTracker

FILE_SIZE = 4096
PER_DIR = 100
CHANGED = 10
TRACKED = FileTrackingConfig(enabled=True, tracked_paths=["out"])
STAT_SCAN = TRACKED.model_copy(update={"change_notifications": False})


def make_tree(workspace: Path, files: int) -> list[Path]:
    paths = []
    for i in range(files):
        path = workspace / "out" / f"d{i // PER_DIR:03}" / f"f{i % PER_DIR:03}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(FILE_SIZE))
        paths.append(path)
    return paths


def git_commit(workspace: Path, repo: Path) -> float:
    """Seconds for init + add -A + commit of ``workspace/out`` into a fresh ``repo``."""
    git = ["git", f"--git-dir={repo}", f"--work-tree={workspace}"]
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    os.sync()
    start = time.perf_counter()
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A", "out"], check=True)
    subprocess.run([*git, *identity, "commit", "-q", "-m", "snapshot"], check=True)
    return time.perf_counter() - start


def tracker_in(data_dir: Path) -> CasFileTracker:
    data_dir.mkdir(parents=True)
    db = Database(f"sqlite:///{data_dir / 'wtb.sqlite'}")
    db.migrate()
    return CasFileTracker(StackConfig(data_dir=data_dir), MetadataStore(db))


def timed(fn) -> tuple[float, object]:
    os.sync()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def change(paths: list[Path]) -> None:
    for path in paths[:: len(paths) // CHANGED][:CHANGED]:
        path.write_bytes(os.urandom(FILE_SIZE))


def identities(paths: list[Path]) -> dict[Path, tuple[int, int]]:
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in paths}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="wtb-filetrack-bench-"))
    try:
        workspace = scratch / "ws"
        paths = make_tree(workspace, args.files)
        execution = TrackedExecution("bench", "bench", TRACKED, workspace)
        scanning = TrackedExecution("stat", "bench", STAT_SCAN, workspace)
        git_s, first_s, second_s, restore_s, touched, scan_s = [], [], [], [], [], []
        for run in range(args.runs):
            git_s.append(git_commit(workspace, scratch / f"repo-{run}.git"))
            tracker = tracker_in(scratch / f"data-{run}")
            seconds, first = timed(lambda t=tracker: t.snapshot(execution, "cp-1"))
            first_s.append(seconds)
            change(paths)
            seconds, second = timed(lambda t=tracker: t.snapshot(execution, "cp-2"))
            second_s.append(seconds)
            before = identities(paths)
            seconds, _ = timed(lambda t=tracker: t.restore(execution, "cp-1"))
            restore_s.append(seconds)
            after = identities(paths)
            touched.append(sum(before[p] != after[p] for p in paths))
            tracker.snapshot(scanning, "cp-1")
            change(paths)
            scan_s.append(timed(lambda t=tracker: t.snapshot(scanning, "cp-2"))[0])
            assert len(first.files) == args.files and first.commit_id != second.commit_id
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    git, first, second, restore, stat_scan = map(
        statistics.median, (git_s, first_s, second_s, restore_s, scan_s)
    )
    print(f"{args.files:,} files × {FILE_SIZE} B, median of {args.runs} runs")
    print(f"  git init+add+commit      {git * 1000:8.1f} ms")
    print(f"  first snapshot (full)    {first * 1000:8.1f} ms   {first / git:.2f}× git")
    share = second / first
    print(f"  second, {CHANGED} changed      {second * 1000:8.1f} ms   {share:.1%} of first")
    print(
        f"  same, without inotify    {stat_scan * 1000:8.1f} ms   {stat_scan / first:.1%} of first"
    )
    print(f"  restore of the first     {restore * 1000:8.1f} ms   files touched: {touched}")
    musts = {
        "first snapshot not slower than git": first <= git,
        "second snapshot ≤ 5% of the first": second <= 0.05 * first,
        f"restore touches only the {CHANGED} changed files": set(touched) == {CHANGED},
    }
    goals = {"first ≤ 0.8× git": first <= 0.8 * git, "second ≤ 2% of first": second <= 0.02 * first}
    for label, held in {**musts, **goals}.items():
        print(f"  {'ok  ' if held else 'MISS'} {label}")
    return 0 if all(musts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
