"""Builtin file tracker ``none``: no files are tracked."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from wtb_core.config import FileTrackingConfig, StackConfig
from wtb_core.domain.models import FileSnapshot
from wtb_core.hookspecs import FileTrackerRegister, hookimpl
from wtb_core.ports.file_tracker import FileStorageCheck, TrackedExecution


class NoFileTracker:
    """Tracks nothing: snapshots are empty and restores change no file."""

    name = "none"

    def __init__(self, config: StackConfig | None = None, metadata: object = None) -> None:
        self.config = config

    def snapshot(self, execution: TrackedExecution, checkpoint_id: str) -> FileSnapshot | None:
        return None

    def restore(self, execution: TrackedExecution, checkpoint_id: str) -> None:
        return None

    def link_fork(
        self, source: TrackedExecution, target: TrackedExecution, checkpoint_ids: Sequence[str]
    ) -> None:
        return None

    def snapshots(self, execution_id: str) -> list[FileSnapshot]:
        return []

    def prepare_workspace(self, base: Path, config: FileTrackingConfig, key: str) -> Path:
        return base

    def discard_workspace(self, workspace: Path) -> None:
        return None

    def check_storage(self, deep: bool = False, sample: int = 64) -> FileStorageCheck:
        return FileStorageCheck()

    def close(self) -> None:
        return None


@hookimpl
def wtb_register_file_trackers(register: FileTrackerRegister) -> None:
    register(NoFileTracker.name, NoFileTracker)
