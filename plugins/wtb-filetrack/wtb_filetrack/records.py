"""Finding the snapshot (and manifest) that holds an execution's files at a checkpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wtb_core import WTBError
from wtb_filetrack.manifest import Manifest

if TYPE_CHECKING:
    from wtb_core.plugin import MetadataStore


class NoSnapshotError(WTBError):
    """An execution has no file snapshot at or before the checkpoint asked for."""


def manifest_of(metadata: MetadataStore, execution_id: str, commit_id: str) -> Manifest:
    """The manifest of a commit an execution's snapshot links to."""
    manifest = metadata.file_commit(commit_id)
    if manifest is None:
        raise WTBError(
            f"file commit {commit_id} that execution {execution_id} links to is missing from "
            "the metadata database (no file was changed); roll back to another checkpoint"
        )
    return manifest


def snapshot_at(metadata: MetadataStore, execution_id: str, checkpoint_id: str) -> tuple[str, str]:
    """(checkpoint id, commit id) of the snapshot holding the execution's files at
    ``checkpoint_id``: the one taken there, else the latest taken before it (LangGraph
    checkpoint ids are time-ordered)."""
    links = metadata.file_snapshot_links(execution_id)
    if checkpoint_id in links:
        return checkpoint_id, links[checkpoint_id]
    earlier = [c for c in links if c <= checkpoint_id]
    if not earlier:
        raise NoSnapshotError(
            f"execution {execution_id} has no file snapshot at or before checkpoint "
            f"{checkpoint_id}, so its files cannot be restored there. Snapshots are taken at "
            "every checkpoint unless commit_on='manual' (then bench.commit_files); "
            "max_snapshots drops the oldest"
        )
    chosen = max(earlier)
    return chosen, links[chosen]
