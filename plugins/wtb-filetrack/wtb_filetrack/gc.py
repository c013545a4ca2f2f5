"""Garbage collection: free the blobs no file snapshot references any more.

Deleting an execution (``bench.delete_execution``) removes its snapshot links; this then
deletes the file commits no link uses (with the manifest chunks no remaining commit
lists), and the blobs no remaining chunk lists, in every repository the stack's projects
use. A referenced blob is never deleted. While some execution is running, unreferenced
commits, chunks and blobs written or reused in the last hour are kept too: they may belong
to a snapshot being taken.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from wtb_core import ExecutionStatus
from wtb_core.plugin import FileTrackingConfig, cut
from wtb_filetrack.blobs import BlobStore
from wtb_filetrack.locations import repository_path

if TYPE_CHECKING:
    from wtb_core import WTBTestBench
    from wtb_core.plugin import MetadataStore

GRACE_S = 3600.0
"""Unreferenced blobs younger than this are kept while executions run; temporary files
younger than this are kept always (a writer may still be using them)."""


@dataclass(frozen=True)
class GcReport:
    """What one garbage collection did."""

    commits_deleted: int
    blobs_deleted: int
    bytes_freed: int
    blobs_kept: int
    recent_kept: int  # unreferenced, but young while executions were running
    repositories: tuple[str, ...]


def repositories(bench: WTBTestBench) -> list[Path]:
    """The default repository and every one a registered project configures."""
    return repository_paths(bench.config.data_dir, bench.stack.metadata)


def repository_paths(data_dir: Path, metadata: MetadataStore) -> list[Path]:
    """The default repository under ``data_dir`` and every one a stored project configures."""
    data_dir = data_dir.resolve()
    found = {repository_path(data_dir, FileTrackingConfig())}
    for row in metadata.list_projects():
        config = FileTrackingConfig.model_validate(row.settings.get("file_tracking", {}))
        found.add(repository_path(data_dir, config))
    return sorted(found)


def collect_garbage(bench: WTBTestBench) -> GcReport:
    """Delete unreferenced file commits, then every blob no remaining commit lists."""
    metadata = bench.stack.metadata
    running = any(
        r.status is ExecutionStatus.RUNNING for r in bench.list_executions(status="running")
    )
    now = time.time()
    grace_start = datetime.fromtimestamp(now - GRACE_S, UTC) if running else None
    commits_deleted = metadata.delete_unreferenced_file_commits(used_before=grace_start)
    cut("gc.after_commits")  # a cut here leaves unreferenced blobs: the next collection frees them
    referenced = metadata.file_blob_digests()
    deleted = freed = kept = recent = 0
    stores = [BlobStore(path) for path in repositories(bench)]
    for store in stores:
        for digest, path in store.blobs():
            if digest in referenced:
                kept += 1
            elif running and _age(path, now) < GRACE_S:
                recent += 1
            else:
                size = _delete(path)
                deleted += size is not None
                freed += size or 0
        for path in store.temporaries():
            if _age(path, now) >= GRACE_S:
                freed += _delete(path) or 0
    return GcReport(
        commits_deleted, deleted, freed, kept, recent, tuple(str(s.root) for s in stores)
    )


def _age(path: str, now: float) -> float:
    try:
        return now - os.stat(path).st_mtime
    except FileNotFoundError:
        return 0.0


def _delete(path: str) -> int | None:
    """Delete a file; its size, or ``None`` when it was already gone."""
    try:
        size = os.stat(path).st_size
        os.unlink(path)
    except FileNotFoundError:
        return None
    return size
