"""What changed in the tracked files between two checkpoints of an execution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from wtb_filetrack import records

if TYPE_CHECKING:
    from wtb_core import WTBTestBench


@dataclass(frozen=True)
class SnapshotDiff:
    """Paths added, modified (content, mode or link target) and deleted from the snapshot
    at ``checkpoint_a`` to the one at ``checkpoint_b``, each sorted. The checkpoints are
    those the snapshots were taken at (at or before the ones asked for)."""

    execution_id: str
    checkpoint_a: str
    checkpoint_b: str
    added: list[str]
    modified: list[str]
    deleted: list[str]


def diff_snapshots(bench: WTBTestBench, execution_id: str, cp_a: str, cp_b: str) -> SnapshotDiff:
    """Compare the execution's files at ``cp_a`` with those at ``cp_b``."""
    bench.get_execution(execution_id)  # an unknown id fails with the kernel's message
    metadata = bench.stack.metadata
    snapshot_a, commit_a = records.snapshot_at(metadata, execution_id, cp_a)
    snapshot_b, commit_b = records.snapshot_at(metadata, execution_id, cp_b)
    a = records.manifest_of(metadata, execution_id, commit_a)
    b = a if commit_b == commit_a else records.manifest_of(metadata, execution_id, commit_b)
    return SnapshotDiff(
        execution_id=execution_id,
        checkpoint_a=snapshot_a,
        checkpoint_b=snapshot_b,
        added=sorted(b.keys() - a.keys()),
        modified=sorted(p for p in a.keys() & b.keys() if a[p] != b[p]),
        deleted=sorted(a.keys() - b.keys()),
    )
