"""One workspace's tracked tree between snapshots: its stat cache, its change monitor and
the manifest of its last snapshot.

An incremental snapshot with a live monitor is a *change scan*: it looks only at the
paths the monitor reports changed (one ``lstat`` each, the stat cache deciding whether to
hash) and applies them to a copy of the last manifest. Without a monitor (not Linux,
turned off, the monitor lost track, a tracked root replaced, the last snapshot failed) it
scans every file, stat cache in hand, and starts a new monitor on the way.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
import time
from collections.abc import Sequence

from wtb_core.plugin import Chunk
from wtb_filetrack.chunks import ChunkedManifest
from wtb_filetrack.manifest import BuiltManifest
from wtb_filetrack.monitor import ChangeMonitor, available
from wtb_filetrack.scan import IgnoreRules, Scan, StatCache, scan, walk

RootIds = dict[str, tuple[int, int] | None]


class TrackedTree:
    """A workspace's stat cache and monitor; hold ``lock`` from ``scan`` to ``remember``
    (and while restoring)."""

    def __init__(self, workspace: str) -> None:
        self.workspace = workspace
        self.cache = StatCache()
        self.lock = threading.Lock()
        self._monitor: ChangeMonitor | None = None
        self._key: tuple[object, ...] = ()
        self._roots: RootIds = {}
        self._dirs: set[str] = set()  # the tracked directories, kept current
        self._last: BuiltManifest | None = None  # what the monitor's reports apply to
        self._chunked: ChunkedManifest | None = None  # the chunks of _last
        self._monitor_failed = False  # no instance or watch to be had: scan from now on

    def scan(
        self,
        roots: Sequence[str],
        rules: IgnoreRules,
        excluded: frozenset[str],
        incremental: bool,
        notifications: bool,
    ) -> Scan:
        """The tracked files as they are now (see ``scan.Scan``). ``incremental``: use the
        stat cache; ``notifications``: also use (or start) a change monitor. Follow with
        ``remember`` once the manifest is built, or ``close`` if that fails."""
        if not incremental:
            self.close()
            return scan(self.workspace, roots, rules, excluded)
        key = (tuple(roots), rules.patterns, excluded)
        if notifications and self._last is not None and self._key == key:
            assert self._monitor is not None
            changed = self._monitor.drain()
            if changed is not None and self._root_ids(roots) == self._roots:
                return self._changes(changed, self._last, rules, excluded)
        self.close()
        monitor = self._new_monitor() if notifications else None
        self._roots = self._root_ids(roots)
        found = scan(self.workspace, roots, rules, excluded, self.cache, monitor)
        if monitor is not None and monitor.lost:
            monitor.close()
            self._monitor_failed = True
        elif monitor is not None:
            self._monitor, self._key, self._dirs = monitor, key, set(found.dirs)
        return found

    @property
    def watching(self) -> bool:
        """Whether a change monitor watches the tree."""
        return self._monitor is not None

    def remember(self, built: BuiltManifest, found: Scan) -> Sequence[Chunk]:
        """The chunks of ``built``, the manifest made of ``found``, which the next change
        scan applies to."""
        if found.base is not None and self._chunked is not None:
            changed = found.removed | found.files.keys() | found.links.keys()
            chunks = self._chunked.update(built.fragments, changed)
        else:
            self._chunked = ChunkedManifest(built.fragments)
            chunks = self._chunked.chunks
        if self._monitor is not None:
            self._last = built
        else:
            self._chunked = None
        return chunks

    def close(self) -> None:
        """Stop watching; the next incremental scan looks at every file."""
        if self._monitor is not None:
            self._monitor.close()
        self._monitor, self._last, self._chunked = None, None, None

    # -- with a monitor ------------------------------------------------------------------

    def _new_monitor(self) -> ChangeMonitor | None:
        if self._monitor_failed or not available():
            return None
        try:
            return ChangeMonitor()
        except OSError:  # fs.inotify.max_user_instances reached
            self._monitor_failed = True
            return None

    def _root_ids(self, roots: Sequence[str]) -> RootIds:
        """(device, inode) of each root that is a directory (``None`` for the others): a
        root replaced or created since the monitor started means a full scan."""
        ids: RootIds = {}
        for root in roots:
            try:
                st = os.lstat(os.path.join(self.workspace, root))
            except (FileNotFoundError, NotADirectoryError):
                ids[root] = None
                continue
            ids[root] = (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None
        return ids

    def _changes(
        self,
        changed: dict[str, bool],
        base: BuiltManifest,
        rules: IgnoreRules,
        excluded: frozenset[str],
    ) -> Scan:
        """What differs from ``base``, from the ``changed`` paths (each: whether it may
        stand for another entry now) and the roots that are files, which no watch covers."""
        found = Scan(time.time_ns(), base=base)
        for root, ids in self._roots.items():
            if ids is None:
                changed[root] = True
        for rel in sorted(changed):  # parents first: a new directory is walked once
            if rel in found.files or (rel in self._dirs and not changed[rel]):
                continue  # seen in a new directory / a directory's own attributes
            path = os.path.join(self.workspace, rel)
            self._drop(rel, found)
            try:
                st = os.lstat(path)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if stat.S_ISDIR(st.st_mode):
                if path not in excluded and not rules.matches(rel + "/"):
                    walk(found, path, rel, rules, excluded, {}, self._monitor, top_is_root=False)
                    self._dirs |= found.dirs
            elif rules.ignored(rel):
                continue
            elif stat.S_ISREG(st.st_mode):
                found.files[rel] = st
            elif stat.S_ISLNK(st.st_mode):
                with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                    found.links[rel] = os.readlink(path)
        return found

    def _drop(self, rel: str, found: Scan) -> None:
        """Take ``rel`` (and everything under it, if it was a directory) out of the
        manifest; whatever stands there now is added back after."""
        assert found.base is not None
        listed = found.base.manifest
        if rel in listed:
            found.removed.add(rel)
        if rel not in self._dirs:
            return
        prefix = rel + "/"
        self._dirs -= {d for d in self._dirs if d == rel or d.startswith(prefix)}
        found.removed.update(p for p in listed if p.startswith(prefix))
        for table in (found.files, found.links):
            for path in [p for p in table if p.startswith(prefix)]:
                del table[path]
