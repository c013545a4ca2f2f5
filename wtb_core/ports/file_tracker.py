"""File tracker port: files a workflow writes, snapshotted with its checkpoints."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

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


@dataclass(frozen=True)
class StoredFileProblem:
    """Something wrong with the files a tracker stores: a blob a commit lists that is
    missing or whose content does not hash to its name, or a blob no commit lists (what
    garbage collection frees — a notice, not a fault). ``commits`` lists the file commits
    naming the blob."""

    kind: Literal["missing_blob", "corrupt_blob", "unreferenced_blob"]
    subject: str
    detail: str
    commits: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileStorageCheck:
    """A tracker's check of its stored files: how many blobs it holds, how many it hashed,
    and what is wrong."""

    blobs: int = 0
    verified: int = 0
    problems: tuple[StoredFileProblem, ...] = ()


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
    * ``check_storage(deep, sample)`` (``wtb integrity``) checks that every blob the
      metadata's file commits list is stored, hashing ``sample`` of them chosen at random
      (all with ``deep``), and lists stored blobs no commit lists. It changes nothing. A
      tracker that stores nothing returns an empty ``FileStorageCheck``.
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

    def check_storage(self, deep: bool = False, sample: int = 64) -> FileStorageCheck: ...

    def close(self) -> None: ...


FileTrackerFactory = Callable[[StackConfig, "MetadataStore"], FileTracker]
"""What ``wtb_register_file_trackers`` registers: called once per stack, with the metadata
store its file commits go to."""
