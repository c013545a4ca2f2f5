"""The ``cas`` file tracker: snapshots in a content-addressed store, linked to checkpoints.

One tracker serves a bench and every execution in it, from many threads at once: each
workspace has its own stat cache and change monitor (``tree.TrackedTree``, used under its
lock), blob writes are atomic, and every metadata write is one transaction of the kernel's
``MetadataStore``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from wtb_core import FileSnapshot, StackConfig, WTBError
from wtb_core.plugin import FileStorageCheck, FileTrackingConfig, MetadataStore, TrackedExecution
from wtb_filetrack import integrity, records, workspaces
from wtb_filetrack.blobs import BlobStore
from wtb_filetrack.locations import repository_path, workspaces_path
from wtb_filetrack.manifest import digest_of, to_snapshot
from wtb_filetrack.restore import Target, restore
from wtb_filetrack.scan import IgnoreRules
from wtb_filetrack.snapshot import build_manifest, check_links
from wtb_filetrack.tree import TrackedTree

MAX_MONITORS = 64
"""Workspaces watched at once (inotify instances: Linux allows 128 per user by default)."""


class CasFileTracker:
    """Implements ``wtb_core.plugin.FileTracker`` over a blob store and the metadata DB."""

    name = "cas"

    def __init__(self, config: StackConfig, metadata: MetadataStore) -> None:
        self.config = config
        self.metadata = metadata
        self.data_dir = config.data_dir.resolve()
        self._stores: dict[Path, BlobStore] = {}
        self._rules: dict[tuple[str, ...], IgnoreRules] = {}
        self._trees: dict[str, TrackedTree] = {}
        self._workspace_roots = {workspaces_path(self.data_dir, FileTrackingConfig())}
        self._bases: dict[str, Path] = {}  # a prepared cell workspace → the one it copies
        self._lock = threading.Lock()

    # -- snapshots -----------------------------------------------------------------------

    def snapshot(self, execution: TrackedExecution, checkpoint_id: str) -> FileSnapshot:
        """Record the tracked files as they are now, linked to ``checkpoint_id``; keeps the
        execution's newest ``max_snapshots`` links."""
        config = execution.config
        workspace = str(execution.workspace)
        incremental = config.snapshot_strategy == "incremental"
        tree = self._tree_for(workspace)
        with tree.lock:
            try:
                roots = self._roots(config, execution.workspace)
                found = tree.scan(
                    roots,
                    self._rules_for(config),
                    self._excluded(config),
                    incremental,
                    config.change_notifications,
                )
                check_links(workspace, roots, found.links)
                built = build_manifest(
                    workspace, found, tree.cache, self.store_for(config), incremental
                )
            except OSError as exc:
                tree.close()  # the next snapshot starts over with a full scan
                raise WTBError(
                    f"cannot snapshot the tracked files in {workspace}: {exc}; make them "
                    "readable or add them to FileTrackingConfig.ignore_patterns"
                ) from exc
            except BaseException:
                tree.close()
                raise
            chunks = tree.remember(built, found)
        commit = self.metadata.save_file_snapshot(
            execution.execution_id, checkpoint_id, built.manifest, chunks
        )
        self.metadata.delete_file_snapshots(execution.execution_id, config.max_snapshots)
        return to_snapshot(checkpoint_id, commit, built.digests, datetime.now(UTC))

    def snapshots(self, execution_id: str) -> list[FileSnapshot]:
        return [
            to_snapshot(
                s.checkpoint_id,
                s.commit.id,
                {path: digest_of(entry) for path, entry in s.commit.manifest.items()},
                s.created_at,
            )
            for s in self.metadata.file_snapshots(execution_id)
        ]

    # -- restore and fork ----------------------------------------------------------------

    def restore(self, execution: TrackedExecution, checkpoint_id: str) -> None:
        """Put every tracked path back as it was at ``checkpoint_id``; everything needed
        is checked first, so on error no file has changed."""
        snapshot_cp, commit = records.snapshot_at(
            self.metadata, execution.execution_id, checkpoint_id
        )
        manifest = records.manifest_of(self.metadata, execution.execution_id, commit)
        config = execution.config
        workspace = str(execution.workspace)
        target = Target(
            workspace,
            self._roots(config, execution.workspace),
            self._rules_for(config),
            self._excluded(config),
        )
        what = (
            f"the files of execution {execution.execution_id} at checkpoint {snapshot_cp} "
            f"(commit {commit[:12]})"
        )
        tree = self._tree_for(workspace)
        with tree.lock:
            restore(target, manifest, tree.cache, self.store_for(config), what)

    def link_fork(
        self, source: TrackedExecution, target: TrackedExecution, checkpoint_ids: Sequence[str]
    ) -> None:
        self.metadata.copy_file_snapshots(
            source.execution_id, target.execution_id, list(checkpoint_ids)
        )

    # -- workspaces ----------------------------------------------------------------------

    def prepare_workspace(self, base: Path, config: FileTrackingConfig, key: str) -> Path:
        """``<repository>/../workspaces/<key>``, seeded with ``base``'s tracked paths."""
        root = workspaces_path(self.data_dir, config)
        with self._lock:
            self._workspace_roots.add(root)
        target = workspaces.workspace_dir(root, key)
        roots = config.tracked_roots(base)
        prepared = workspaces.prepare(base.resolve(), roots, target, self._excluded(config))
        with self._lock:
            self._bases[os.path.abspath(prepared)] = base
        return prepared

    def discard_workspace(self, workspace: Path) -> None:
        with self._lock:
            roots = sorted(self._workspace_roots)
            tree = self._trees.pop(str(workspace), None)
            self._bases.pop(os.path.abspath(workspace), None)
        if tree is not None:
            with tree.lock:
                tree.close()
        workspaces.discard(workspace.resolve(), roots)

    # -- integrity -----------------------------------------------------------------------

    def check_storage(self, deep: bool = False, sample: int = 64) -> FileStorageCheck:
        """Every blob linked commits list is stored (``sample`` hashed, all with ``deep``);
        blobs no commit lists are reported for ``wtb gc``."""
        return integrity.check_storage(self.data_dir, self.metadata, deep, sample)

    def close(self) -> None:
        with self._lock:
            trees = list(self._trees.values())
            self._trees.clear()
        for tree in trees:
            with tree.lock:
                tree.close()

    # -- helpers -------------------------------------------------------------------------

    def _roots(self, config: FileTrackingConfig, workspace: Path) -> list[str]:
        """The tracked roots of ``workspace`` by the kernel's one rule
        (``FileTrackingConfig.tracked_roots``), which refuses paths leaving it. A cell
        workspace this tracker prepared stands for the workspace it copies: an absolute
        tracked path inside that one means the same relative path in the cell."""
        with self._lock:
            base = self._bases.get(os.path.abspath(workspace), workspace)
        return config.tracked_roots(base)

    def store_for(self, config: FileTrackingConfig) -> BlobStore:
        path = repository_path(self.data_dir, config)
        with self._lock:
            store = self._stores.get(path)
            if store is None:
                store = self._stores[path] = BlobStore(path)
            return store

    def _rules_for(self, config: FileTrackingConfig) -> IgnoreRules:
        key = tuple(config.ignore_patterns)
        with self._lock:
            rules = self._rules.get(key)
            if rules is None:
                rules = self._rules[key] = IgnoreRules(key)
            return rules

    def _tree_for(self, workspace: str) -> TrackedTree:
        """The workspace's tree, now the most recently used; the least recently used
        trees beyond ``MAX_MONITORS`` stop watching (their next snapshot scans)."""
        with self._lock:
            tree = self._trees.pop(workspace, None) or TrackedTree(workspace)
            self._trees[workspace] = tree
            watching = [t for t in self._trees.values() if t.watching and t is not tree]
        for idle in watching[: max(0, len(watching) + 1 - MAX_MONITORS)]:
            if idle.lock.acquire(blocking=False):  # busy: next time
                try:
                    idle.close()
                finally:
                    idle.lock.release()
        return tree

    def _excluded(self, config: FileTrackingConfig) -> frozenset[str]:
        """WTB's own directories, never tracked even inside a tracked root."""
        repository = repository_path(self.data_dir, config)
        return frozenset(
            map(str, (self.data_dir, repository, workspaces_path(self.data_dir, config)))
        )
