"""Which paths of a workspace changed, from Linux inotify (like git's fsmonitor).

A ``ChangeMonitor`` watches directories. Each watch is added *before* its directory is
listed, and the kernel queues an event inside every system call that changes a watched
directory's entries or a file in it; so whatever changes after a scan looked at a file is
in the queue. ``drain()`` reads the queue without waiting and answers the paths changed
since the last drain, or ``None`` when the monitor lost track (queue overflow, a watch
that could not be added, a tracked root itself deleted or moved): then only a full scan
knows.

Not reported by inotify, hence not by the monitor: writes through a memory mapping whose
file stays open (they show when it is closed), and changes another host makes on a network
file system. ``FileTrackingConfig.change_notifications=False`` turns the monitor off.
"""

from __future__ import annotations

import contextlib

try:  # Linux only; elsewhere every incremental snapshot scans with the stat cache
    from inotify_simple import INotify
    from inotify_simple import flags as _f
except (ImportError, OSError, AttributeError):  # pragma: no cover - not on Linux
    INotify = None

if INotify is not None:
    WATCHED = (
        _f.MODIFY
        | _f.ATTRIB
        | _f.CLOSE_WRITE
        | _f.CREATE
        | _f.DELETE
        | _f.MOVED_FROM
        | _f.MOVED_TO
        | _f.DELETE_SELF
        | _f.MOVE_SELF
        | _f.ONLYDIR
        | _f.DONT_FOLLOW
        | _f.EXCL_UNLINK
    )
    LOST = _f.Q_OVERFLOW | _f.UNMOUNT
    SELF = _f.DELETE_SELF | _f.MOVE_SELF
    DIR_MOVED_AWAY = _f.ISDIR | _f.MOVED_FROM
    IGNORED = _f.IGNORED
    REPLACED = _f.CREATE | _f.DELETE | _f.MOVED_FROM | _f.MOVED_TO


def available() -> bool:
    """Whether this platform has inotify."""
    return INotify is not None


class ChangeMonitor:
    """One inotify instance watching directories of one workspace; not thread-safe (the
    tracker holds the workspace's lock)."""

    def __init__(self) -> None:
        """Raises ``OSError`` when no instance can be had (e.g. the per-user limit)."""
        if INotify is None:
            raise OSError("inotify is not available on this platform")
        self._inotify = INotify()
        self._dirs: dict[int, str] = {}  # watch descriptor -> workspace-relative directory
        self._roots: set[int] = set()
        self._retired: set[int] = set()  # watches of directories moved away
        self.lost = False

    def watch(self, path: str, rel: str, root: bool = False) -> None:
        """Watch the directory ``path`` (``rel`` in the workspace; ``root``: a tracked
        root, whose own removal no parent watch reports). Call it before listing it."""
        try:
            wd = self._inotify.add_watch(path, WATCHED)
        except FileNotFoundError:
            return  # removed before we looked: its parent's event says so
        except OSError:
            self.lost = True  # e.g. fs.inotify.max_user_watches reached
            return
        known = self._dirs.get(wd)
        if known is not None and known != rel and wd not in self._retired:
            self.lost = True  # one directory under two names: moved while we looked
        self._dirs[wd] = rel
        self._retired.discard(wd)
        if root:
            self._roots.add(wd)

    def drain(self) -> dict[str, bool] | None:
        """The workspace-relative paths whose entry or content changed since the last
        drain, each saying whether the name may now stand for another file or directory
        (created, deleted, moved), or ``None`` when track was lost (then forever: make a
        new monitor)."""
        changed: dict[str, bool] = {}
        for wd, mask, _, name in self._inotify.read(timeout=0):
            if self.lost or mask & LOST:
                self.lost = True
                break
            if mask & IGNORED:
                self._dirs.pop(wd, None)
                self._retired.discard(wd)
                continue
            if wd in self._retired:
                continue  # inside a directory moved away; its new place is walked afresh
            rel = self._dirs.get(wd)
            if rel is None or (mask & SELF and wd in self._roots):
                self.lost = True
                break
            if not name:
                continue  # the directory itself: its parent's event names it
            path = f"{rel}/{name}" if rel else name
            changed[path] = changed.get(path, False) or bool(mask & REPLACED)
            if mask & DIR_MOVED_AWAY == DIR_MOVED_AWAY:
                self._retire(path)
        return None if self.lost else changed

    def _retire(self, rel: str) -> None:
        """Stop watching ``rel`` and everything under it: it moved, maybe out of the tree."""
        prefix = rel + "/"
        for wd, path in list(self._dirs.items()):
            if path == rel or path.startswith(prefix):
                self._retired.add(wd)
                with contextlib.suppress(OSError):  # already gone
                    self._inotify.rm_watch(wd)

    def close(self) -> None:
        self._inotify.close()
