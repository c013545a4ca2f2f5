"""Finding the tracked files of a workspace: roots, gitignore rules, the stat cache.

Paths are POSIX and relative to the workspace. A directory is never followed through a
symbolic link: a link is tracked as a link. Files matched by the ignore patterns
(gitignore semantics, ``pathspec.GitIgnoreSpec``) are never looked at; neither is WTB's own
storage (data directory, blob repository, workspaces) when it lies inside a tracked root.
"""

from __future__ import annotations

import os
import posixpath
import stat
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pathspec

from wtb_filetrack.manifest import BuiltManifest, Entry
from wtb_filetrack.monitor import ChangeMonitor

PERMISSIONS = 0o777
"""The mode bits a manifest records."""

RACY_NS = 10_000_000
"""A file modified less than this before a scan started may change again without its
stat changing (coarse file-system clocks): its cached hash is not trusted."""


def link_stays_inside(workspace: str, roots: Sequence[str], path: str, link: str) -> bool:
    """Whether the symbolic link ``path`` (to ``link``) leads inside a tracked root,
    resolved lexically from the link's directory (as ``tarfile``'s data filter does).
    Snapshots refuse links for which it is false; restores refuse manifests holding them.
    ``roots`` are ``FileTrackingConfig.tracked_roots`` of the workspace."""
    base = posixpath.join(workspace, posixpath.dirname(path))
    resolved = posixpath.normpath(posixpath.join(base, link))
    return any(
        resolved == (top := posixpath.normpath(posixpath.join(workspace, root)))
        or resolved.startswith(top.rstrip("/") + "/")
        for root in roots
    )


class Roots:
    """Answers whether paths lie in any of some roots, fast (one call per path)."""

    def __init__(self, roots: Iterable[str]) -> None:
        roots = list(roots)
        self.everything = "" in roots
        self.exact = frozenset(roots)
        self.prefixes = tuple(root + "/" for root in roots)

    def hold(self, path: str) -> bool:
        return self.everything or path in self.exact or path.startswith(self.prefixes)


class IgnoreRules:
    """Gitignore patterns with memoised answers (they depend on the path alone)."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(patterns)
        self.spec = pathspec.GitIgnoreSpec.from_lines(patterns)
        self.memo: dict[str, bool] = {}
        self._dirs: dict[str, bool] = {"": False}

    def matches(self, rel: str) -> bool:
        """Whether the pattern set matches ``rel`` (a directory ends with ``/``)."""
        hit = self.memo.get(rel)
        if hit is None:
            hit = self.memo[rel] = self.spec.match_file(rel)
        return hit

    def dir_ignored(self, rel_dir: str) -> bool:
        """Whether the directory ``rel_dir`` or one of its parents is ignored."""
        hit = self._dirs.get(rel_dir)
        if hit is None:
            parent = rel_dir.rpartition("/")[0]
            hit = self._dirs[rel_dir] = self.dir_ignored(parent) or self.matches(rel_dir + "/")
        return hit

    def ignored(self, rel: str) -> bool:
        """Whether the file ``rel`` is ignored, itself or through one of its directories
        (as git does: a file in an ignored directory cannot be re-included)."""
        return self.dir_ignored(rel.rpartition("/")[0]) or self.matches(rel)


@dataclass(slots=True)
class Cached:
    """One file's stat when it was hashed, with the manifest entry made from the hash."""

    size: int
    mtime_ns: int
    ino: int
    clean: bool  # modified well before it was hashed: the stat can vouch for the content
    entry: Entry
    fragment: str


class StatCache:
    """Manifest entries of files by their stat, like git's index: ``(size, mtime_ns,
    inode)`` unchanged and clean means the content is unchanged. One per workspace."""

    def __init__(self) -> None:
        self.files: dict[str, Cached] = {}

    def get(self, rel: str, st: os.stat_result) -> Cached | None:
        """The cached entry of ``rel`` when its stat vouches for it, else ``None``."""
        c = self.files.get(rel)
        if (
            c is not None
            and c.clean
            and c.size == st.st_size
            and c.mtime_ns == st.st_mtime_ns
            and c.ino == st.st_ino
        ):
            return c
        return None

    def record(
        self, rel: str, st: os.stat_result, entry: Entry, fragment: str, scan_started_ns: int
    ) -> None:
        """Remember ``entry`` for the stat ``st`` taken before the content was hashed."""
        clean = st.st_mtime_ns < scan_started_ns - RACY_NS
        self.files[rel] = Cached(st.st_size, st.st_mtime_ns, st.st_ino, clean, entry, fragment)

    def forget(self, rel: str) -> None:
        self.files.pop(rel, None)


@dataclass
class Scan:
    """The tracked entries of a workspace as they are now. With a stat cache, the files
    it vouches for (same stat, clean, same mode) are in ``unchanged`` instead of
    ``files``: their stat is not kept, so a big tree leaves little for Python's garbage
    collector to walk.

    A *change scan* (``base`` set, from ``tree.TrackedTree``) lists only what differs
    from the manifest ``base``: the paths ``removed`` from it, then files to look at (in
    ``files``) and symbolic links with their targets (in ``links``) to set in it."""

    started_ns: int
    files: dict[str, os.stat_result] = field(default_factory=dict)
    unchanged: dict[str, Cached] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)
    base: BuiltManifest | None = None
    removed: set[str] = field(default_factory=set)


def scan(
    workspace: str,
    roots: Sequence[str],
    rules: IgnoreRules,
    excluded: frozenset[str],
    cache: StatCache | None = None,
    monitor: ChangeMonitor | None = None,
) -> Scan:
    """Every tracked regular file (with its lstat, or its ``cache`` entry), symbolic link
    (with its target) and directory under ``roots``; ``excluded`` holds absolute
    directories never entered. A ``monitor`` watches each directory before it is listed."""
    found = Scan(started_ns=time.time_ns())
    cached = cache.files if cache is not None else {}
    for root in roots:
        top = os.path.join(workspace, root) if root else workspace
        try:
            st = os.lstat(top)
        except FileNotFoundError:
            continue
        if root and not stat.S_ISDIR(st.st_mode):
            if not rules.ignored(root):
                _add(found, root, top, st)
            continue
        if root and rules.dir_ignored(root):
            continue
        walk(found, top, root, rules, excluded, cached, monitor)
    return found


def _add(found: Scan, rel: str, path: str, st: os.stat_result) -> None:
    if stat.S_ISREG(st.st_mode):
        found.files[rel] = st
    elif stat.S_ISLNK(st.st_mode):
        found.links[rel] = os.readlink(path)


def walk(
    found: Scan,
    top: str,
    top_rel: str,
    rules: IgnoreRules,
    excluded: frozenset[str],
    cached: dict[str, Cached],
    monitor: ChangeMonitor | None = None,
    top_is_root: bool = True,
) -> None:
    """The hot loop of a scan: one ``lstat`` per file, nothing more for a file the stat
    cache vouches for. ``top_is_root``: ``top`` is a tracked root (for the monitor)."""
    if top in excluded:
        return
    found.dirs.add(top_rel)
    stack = [(top, top_rel)]
    files, unchanged, links, dirs = found.files, found.unchanged, found.links, found.dirs
    memo, matches = rules.memo, rules.matches
    while stack:
        path, rel = stack.pop()
        if monitor is not None:
            monitor.watch(path, rel, root=top_is_root and rel == top_rel)
        try:
            entries = list(os.scandir(path))
        except (FileNotFoundError, NotADirectoryError):
            continue  # removed while we looked
        prefix = rel + "/" if rel else ""
        for entry in entries:
            child = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if not matches(child + "/") and entry.path not in excluded:
                    dirs.add(child)
                    stack.append((entry.path, child))
                continue
            hit = memo.get(child)
            if hit or (hit is None and matches(child)):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISREG(st.st_mode):
                c = cached.get(child)
                if (
                    c is not None
                    and c.clean
                    and c.mtime_ns == st.st_mtime_ns
                    and c.size == st.st_size
                    and c.ino == st.st_ino
                    and c.entry["mode"] == st.st_mode & PERMISSIONS
                ):
                    unchanged[child] = c
                else:
                    files[child] = st
            elif stat.S_ISLNK(st.st_mode):
                links[child] = os.readlink(entry.path)
