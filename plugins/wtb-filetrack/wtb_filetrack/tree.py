"""One workspace's tracked tree between snapshots: its stat cache, its change monitor and
what the last scan found.

An incremental snapshot with a live monitor looks only at the paths the monitor reports
changed (one ``lstat`` each, the stat cache deciding whether to hash); every other file
keeps its entry from the last snapshot. Without a monitor (not Linux, turned off, the
monitor lost track, a tracked root replaced) it scans every file, stat cache in hand, and
starts a new monitor on the way.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from wtb_filetrack.monitor import REPLACED, ChangeMonitor, available
from wtb_filetrack.scan import Cached, IgnoreRules, Scan, StatCache, scan, walk

RootIds = dict[str, tuple[int, int] | None]


@dataclass
class View:
    """The tracked entries the last scan found, kept current from the monitor's reports."""

    files: set[str] = field(default_factory=set)
    links: dict[str, str] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)


class TrackedTree:
    """A workspace's stat cache and monitor; hold ``lock`` while scanning or restoring."""

    def __init__(self, workspace: str) -> None:
        self.workspace = workspace
        self.cache = StatCache()
        self.lock = threading.Lock()
        self._monitor: ChangeMonitor | None = None
        self._key: tuple[object, ...] = ()
        self._roots: RootIds = {}
        self._view: View | None = None
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
        stat cache; ``notifications``: also use (or start) a change monitor."""
        if not incremental:
            self.close()
            return scan(self.workspace, roots, rules, excluded)
        key = (tuple(roots), rules.patterns, excluded)
        if notifications and self._monitor is not None and self._key == key:
            changed = self._monitor.drain()
            if changed is not None and self._root_ids(roots) == self._roots:
                return self._update(changed, rules, excluded)
        self.close()
        monitor = self._new_monitor() if notifications else None
        self._roots = self._root_ids(roots)
        found = scan(self.workspace, roots, rules, excluded, self.cache, monitor)
        if monitor is not None:
            if monitor.lost:
                monitor.close()
                self._monitor_failed = True
            else:
                self._monitor, self._key = monitor, key
                self._view = View(
                    found.files.keys() | found.unchanged.keys(), dict(found.links), set(found.dirs)
                )
        return found

    def close(self) -> None:
        """Stop watching; the next incremental scan looks at every file."""
        if self._monitor is not None:
            self._monitor.close()
        self._monitor, self._view = None, None

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

    def _update(
        self, changed: dict[str, int], rules: IgnoreRules, excluded: frozenset[str]
    ) -> Scan:
        """The last scan brought up to date with the ``changed`` paths (and the roots that
        are files, which no watch covers)."""
        view = self._view
        assert view is not None and self._monitor is not None
        started_ns = time.time_ns()
        for root, ids in self._roots.items():
            if ids is None:
                changed[root] = changed.get(root, 0) | REPLACED
        dirty: dict[str, os.stat_result] = {}
        for rel in sorted(changed):  # parents first: a new directory is walked once
            if rel in dirty or (rel in view.dirs and changed[rel] & REPLACED == 0):
                continue  # looked at as part of a new directory / a directory's attributes
            path = os.path.join(self.workspace, rel)
            try:
                st = os.lstat(path)
            except (FileNotFoundError, NotADirectoryError):
                self._drop(rel, dirty)
                continue
            self._drop(rel, dirty)
            if stat.S_ISDIR(st.st_mode):
                if path not in excluded and not rules.matches(rel + "/"):
                    self._walk_new(path, rel, rules, excluded, dirty)
            elif rules.ignored(rel):
                continue
            elif stat.S_ISREG(st.st_mode):
                view.files.add(rel)
                dirty[rel] = st
            elif stat.S_ISLNK(st.st_mode):
                with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                    view.links[rel] = os.readlink(path)
        return Scan(
            started_ns,
            files=dirty,
            unchanged=self._unchanged(dirty),
            links=view.links,
            dirs=view.dirs,
        )

    def _walk_new(
        self,
        path: str,
        rel: str,
        rules: IgnoreRules,
        excluded: frozenset[str],
        dirty: dict[str, os.stat_result],
    ) -> None:
        """Add a directory that appeared (or was replaced) to the view, watched."""
        view = self._view
        assert view is not None
        found = Scan(time.time_ns())
        walk(found, path, rel, rules, excluded, {}, self._monitor, top_is_root=False)
        view.dirs |= found.dirs
        view.links.update(found.links)
        view.files.update(found.files)
        dirty.update(found.files)

    def _drop(self, rel: str, dirty: dict[str, os.stat_result]) -> None:
        """Forget ``rel`` (and everything under it, if it was a directory)."""
        view = self._view
        assert view is not None
        view.files.discard(rel)
        view.links.pop(rel, None)
        dirty.pop(rel, None)
        if rel not in view.dirs:
            return
        prefix = rel + "/"
        view.dirs -= {d for d in view.dirs if d == rel or d.startswith(prefix)}
        view.files -= {f for f in view.files if f.startswith(prefix)}
        for table in (view.links, dirty):
            for path in [p for p in table if p.startswith(prefix)]:
                del table[path]

    def _unchanged(self, dirty: dict[str, os.stat_result]) -> dict[str, Cached]:
        """The cached entries of every file in the view the monitor did not report; a
        file the cache does not know (forgotten by a restore) is looked at again."""
        view = self._view
        assert view is not None
        cached = self.cache.files
        quiet = view.files - dirty.keys()
        try:
            return {rel: cached[rel] for rel in quiet}
        except KeyError:
            pass
        unchanged = {}
        for rel in quiet:
            entry = cached.get(rel)
            if entry is not None:
                unchanged[rel] = entry
                continue
            try:
                st = os.lstat(os.path.join(self.workspace, rel))
            except (FileNotFoundError, NotADirectoryError):
                st = None
            if st is not None and stat.S_ISREG(st.st_mode):
                dirty[rel] = st
            else:
                view.files.discard(rel)
        return unchanged
