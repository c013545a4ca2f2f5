"""File tracker port: files a workflow writes, snapshotted with its checkpoints."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from wtb_core.config import FileTrackingConfig, StackConfig
from wtb_core.domain.models import FileSnapshot

if TYPE_CHECKING:
    from wtb_core.storage.metadata import MetadataStore


@dataclass(frozen=True)
class TrackedExecution:
    """The execution a file tracker works for, and where its files are."""

    execution_id: str
    project: str
    config: FileTrackingConfig
    workspace: Path


@runtime_checkable
class FileTracker(Protocol):
    """Snapshots tracked files at checkpoints; restores them on rollback and fork.

    * The tracked paths of an execution are ``config.tracked_roots(workspace)``
      (``FileTrackingConfig.tracked_roots``): the kernel's one rule, which the bench also
      applies when a project registers; it raises ``ConfigurationError`` for a path that
      leaves the workspace, so a tracker never reads or writes outside it.
    * ``snapshot`` records the tracked files as they are now, linked to ``checkpoint_id``.
    * ``restore`` puts every tracked path back as it was at ``checkpoint_id``. It verifies
      everything it needs *before* changing anything: on a missing or corrupt blob it
      raises ``WTBError`` naming the file and leaves the files untouched.
    * ``link_fork`` makes ``target`` share ``source``'s snapshots of ``checkpoint_ids``.
    * ``snapshots`` lists an execution's snapshots, oldest first.
    * ``prepare_workspace(base, key)`` returns a directory of its own for one execution,
      seeded with ``base``'s tracked files (copy-on-write where the filesystem allows,
      never hard links); ``discard_workspace`` removes it.
    """

    name: str

    def snapshot(self, execution: TrackedExecution, checkpoint_id: str) -> FileSnapshot | None: ...

    def restore(self, execution: TrackedExecution, checkpoint_id: str) -> None: ...

    def link_fork(
        self, source: TrackedExecution, target: TrackedExecution, checkpoint_ids: Sequence[str]
    ) -> None: ...

    def snapshots(self, execution_id: str) -> list[FileSnapshot]: ...

    def prepare_workspace(self, base: Path, config: FileTrackingConfig, key: str) -> Path: ...

    def discard_workspace(self, workspace: Path) -> None: ...

    def close(self) -> None: ...


FileTrackerFactory = Callable[[StackConfig, "MetadataStore"], FileTracker]
"""What ``wtb_register_file_trackers`` registers: called once per stack, with the metadata
store its file commits go to."""
