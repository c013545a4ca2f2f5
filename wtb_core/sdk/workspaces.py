"""Where executions run and where restoring tracked files may write."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from wtb_core.errors import StorageError
from wtb_core.ports.file_tracker import TrackedExecution
from wtb_core.project import WorkflowProject
from wtb_core.storage.tables import ExecutionRecord


class WorkspaceRoots:
    """The bench's workspace and the roots file restores may write into.

    Thread-safe: the set of roots grows under a lock (``for_run``) and is read under it.
    """

    def __init__(self, default: Path, roots: Iterable[Path]) -> None:
        self.default = default
        self._roots = {default, *roots}
        self._lock = threading.Lock()

    def for_run(self, workspace: str | Path | None) -> Path:
        """The workspace a run was given; it becomes a root files may be restored into."""
        if workspace is None:
            return self.default
        path = Path(workspace).resolve()
        with self._lock:
            self._roots.add(path)
        return path

    def of(self, row: ExecutionRecord) -> Path:
        """The directory an execution runs in."""
        return Path(row.workspace) if row.workspace else self.default

    def trusted(self, row: ExecutionRecord) -> Path:
        """The execution's workspace, if it lies inside a root this bench may write files
        to: its own workspace, its data directory, ``StackConfig.workspace_roots``, and the
        workspaces given to runs of this process. The metadata database decides where a
        rollback writes, so a workspace edited into it (or from another machine) is
        refused rather than written to."""
        path = self.of(row).resolve()
        with self._lock:
            roots = sorted(self._roots)
        if any(path == root or path.is_relative_to(root) for root in roots):
            return path
        raise StorageError(
            f"execution {row.id}'s stored workspace {str(path)!r} is outside this bench's "
            f"workspace roots ({', '.join(map(str, roots))}), so its tracked files are not "
            "restored there. If that directory is yours, add it to StackConfig.workspace_roots "
            "(WTB_WORKSPACE_ROOTS)"
        )

    def tracked(self, project: WorkflowProject, row: ExecutionRecord) -> TrackedExecution | None:
        """What the file tracker needs about ``row``, or ``None`` when its project tracks no
        files."""
        if not project.file_tracking.enabled:
            return None
        return TrackedExecution(row.id, project.name, project.file_tracking, self.trusted(row))
