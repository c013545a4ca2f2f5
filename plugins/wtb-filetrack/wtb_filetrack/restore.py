"""Putting a workspace's tracked files back as a manifest has them.

Three phases, and nothing changes before the third:

1. *check* the manifest: every path relative, without ``..``, inside a tracked root, no
   entry inside another, every symbolic link pointing inside the tracked roots; and no
   symbolic link above a tracked root.
2. *plan* against the files as they are (the stat cache, else a hash, says which files
   differ); refuse when an untracked entry, or a symbolic link that is not tracked, stands
   where the plan writes; *verify* every blob the plan needs: present, hashing to its name.
3. *apply*: delete what was created later, write what differs (temporary file + rename),
   remove directories the deletions emptied. Ignored files are never touched; tracked
   symbolic links are replaced, never written through.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from wtb_core import WTBError
from wtb_filetrack.blobs import BlobStore, hash_file
from wtb_filetrack.manifest import Entry, Manifest, file_entry, fragment
from wtb_filetrack.scan import (
    PERMISSIONS,
    IgnoreRules,
    Roots,
    Scan,
    StatCache,
    link_stays_inside,
    scan,
)

HEX = frozenset("0123456789abcdef")
TMP_PREFIX = ".wtb-restore-"


class UnsafeSnapshotError(WTBError):
    """A file snapshot would write outside the tracked roots, or is malformed."""


class BlobError(WTBError):
    """A blob a restore needs is missing or does not match its hash."""


@dataclass(frozen=True)
class Target:
    """Where a restore writes: the workspace, its tracked roots and what is excluded."""

    workspace: str
    roots: Sequence[str]
    rules: IgnoreRules
    excluded: frozenset[str]  # absolute directories never scanned nor written

    def excluded_inside(self) -> list[str]:
        """The excluded directories inside the workspace, relative to it."""
        prefix = self.workspace.rstrip("/") + "/"
        return [e[len(prefix) :] for e in self.excluded if e.startswith(prefix)]


@dataclass
class Plan:
    """What a restore changes, in the order it is done."""

    deletes: list[str] = field(default_factory=list)  # files and links to remove
    clear_dirs: list[str] = field(default_factory=list)  # directories where a file goes
    writes: list[tuple[str, Entry]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    chmods: list[tuple[str, int]] = field(default_factory=list)


def restore(
    target: Target, manifest: Manifest, cache: StatCache, store: BlobStore, what: str
) -> None:
    """Make the tracked files of ``target`` equal ``manifest``; ``what`` names the
    snapshot in messages."""
    wanted = checked_manifest(target, manifest, what)
    _check_roots(target, what)
    found = scan(target.workspace, target.roots, target.rules, target.excluded)
    plan = _plan(target.workspace, wanted, found, cache)
    _check_ways(target, plan, found, what)
    _verify_blobs(plan, store, what)
    _apply(target, plan, wanted, store, cache, what)


# -- 1. check ----------------------------------------------------------------------------


def checked_manifest(target: Target, manifest: Manifest, what: str) -> Manifest:
    """The entries of ``manifest`` to restore (ignored ones left out), after refusing
    anything unsafe or malformed."""

    def refuse(path: str, reason: str) -> UnsafeSnapshotError:
        return UnsafeSnapshotError(
            f"{what} lists {path!r}, which {reason}; refusing to restore it (no file was "
            "changed). Roll back to another checkpoint, or check the tracked paths "
            f"{list(target.roots)} are the ones the snapshot was taken with"
        )

    tracked, storage = Roots(target.roots), Roots(target.excluded_inside())
    rules = target.rules
    for path, entry in manifest.items():
        if not _is_relative_path(path):
            raise refuse(path, "is not a relative path inside the workspace")
        if not tracked.hold(path):
            raise refuse(path, "is outside the tracked paths")
        if storage.prefixes and storage.hold(path):
            raise refuse(path, "is inside WTB's own storage")
        if not _well_formed(entry):
            raise refuse(path, f"has a malformed entry {entry!r}")
        if "link" in entry and not link_stays_inside(
            target.workspace, target.roots, path, entry["link"]
        ):
            reason = f"is a symbolic link to {entry['link']!r}, outside the tracked roots"
            raise refuse(path, reason)
    nested = manifest.keys() & _parents(manifest)
    if nested:
        parent = min(nested)
        path = min(p for p in manifest if p.startswith(parent + "/"))
        raise refuse(path, f"lies inside {parent!r}, which the snapshot lists too")
    return {path: entry for path, entry in manifest.items() if not rules.ignored(path)}


def _parents(paths: Iterable[str]) -> set[str]:
    """Every directory the paths lie in."""
    parents: set[str] = set()
    for path in paths:
        parent = path.rpartition("/")[0]
        while parent and parent not in parents:
            parents.add(parent)
            parent = parent.rpartition("/")[0]
    return parents


def _is_relative_path(path: object) -> bool:
    """A non-empty POSIX path without empty, ``.`` or ``..`` segments."""
    if not isinstance(path, str) or "\0" in path:
        return False
    parts = path.split("/")
    return "" not in parts and "." not in parts and ".." not in parts


def _well_formed(entry: object) -> bool:
    if not isinstance(entry, dict):
        return False
    if len(entry) == 1:
        link = entry.get("link")
        return isinstance(link, str) and link != "" and "\0" not in link
    digest, size, mode = entry.get("hash"), entry.get("size"), entry.get("mode")
    return (
        len(entry) == 3
        and isinstance(digest, str)
        and len(digest) == 64
        and HEX.issuperset(digest)
        and type(size) is int
        and size >= 0
        and type(mode) is int
        and 0 <= mode <= PERMISSIONS
    )


def _check_roots(target: Target, what: str) -> None:
    """Refuse when a directory above a tracked root is a symbolic link (or not a
    directory): the root would lie elsewhere than in the workspace."""
    for root in target.roots:
        parts = root.split("/")[:-1] if root else []
        for depth in range(1, len(parts) + 1):
            way = "/".join(parts[:depth])
            try:
                st = os.lstat(os.path.join(target.workspace, way))
            except FileNotFoundError:
                break
            if not stat.S_ISDIR(st.st_mode):
                raise UnsafeSnapshotError(
                    f"cannot restore {what}: {way!r}, above the tracked path {root!r}, is "
                    "a symbolic link or a file, so the tracked files would lie outside the "
                    f"workspace {target.workspace}; make {way!r} a real directory (no file "
                    "was changed)"
                )


# -- 2. plan and verify ------------------------------------------------------------------


def _plan(workspace: str, wanted: Manifest, found: Scan, cache: StatCache) -> Plan:
    plan = Plan()
    files = {p: e for p, e in wanted.items() if "hash" in e}
    links = {p: e["link"] for p, e in wanted.items() if "link" in e}
    plan.deletes = [p for p in found.files if p not in files]
    plan.deletes += [p for p, t in found.links.items() if links.get(p) != t]
    plan.clear_dirs = sorted(p for p in wanted if p in found.dirs)
    plan.links = [(p, t) for p, t in links.items() if found.links.get(p) != t]
    for path, entry in files.items():
        st = found.files.get(path)
        if (
            st is None
            or st.st_size != entry["size"]
            or _current_digest(workspace, path, st, cache, found.started_ns) != entry["hash"]
        ):
            plan.writes.append((path, entry))
        elif st.st_mode & PERMISSIONS != entry["mode"]:
            plan.chmods.append((path, entry["mode"]))
    return plan


def _current_digest(
    workspace: str, path: str, st: os.stat_result, cache: StatCache, started_ns: int
) -> str:
    cached = cache.get(path, st)
    if cached is not None:
        known: str = cached.entry["hash"]
        return known
    digest = hash_file(os.path.join(workspace, path))
    entry = file_entry(digest, st.st_size, st.st_mode & PERMISSIONS)
    cache.record(path, st, entry, fragment(path, entry), started_ns)
    return digest


def _check_ways(target: Target, plan: Plan, found: Scan, what: str) -> None:
    """Refuse when something the restore does not own stands where it must write: a
    symbolic link or a file on the way to a path it writes, or an untracked (ignored)
    entry at that path. Tracked links and files there are replaced, never followed."""
    for directory in plan.clear_dirs:
        untracked = _untracked_inside(target.workspace, directory, found)
        if untracked is not None:
            raise UnsafeSnapshotError(
                f"restoring {what} would replace the directory {directory!r} by a file, "
                f"deleting {untracked!r}, which is not tracked (ignored); refusing (no file "
                f"was changed). Move {untracked!r} away, then roll back again"
            )
    going = set(plan.deletes)
    checked: set[str] = set()
    for path in [p for p, _ in plan.writes] + [p for p, _ in plan.links]:
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            way = "/".join(parts[:depth])
            last = depth == len(parts)
            if way in checked or way in going or way in found.dirs:
                continue
            if last and (way in found.files or way in found.links):
                continue
            checked.add(way)
            try:
                st = os.lstat(os.path.join(target.workspace, way))
            except FileNotFoundError:
                break  # nothing below it exists either
            if not last and stat.S_ISDIR(st.st_mode):
                continue
            kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "an untracked entry"
            raise UnsafeSnapshotError(
                f"restoring {what} would write {path!r} through {kind} at {way!r} (an ignored "
                "or untracked path, or one above the tracked roots); refusing (no file was "
                f"changed). Remove or rename {way!r}, then roll back again"
            )


def _untracked_inside(workspace: str, directory: str, found: Scan) -> str | None:
    """The first file or link under ``directory`` the scan did not track, if any."""
    for parent, dirs, names in os.walk(os.path.join(workspace, directory)):
        rel = os.path.relpath(parent, workspace).replace(os.sep, "/")
        for name in names + [d for d in dirs if os.path.islink(os.path.join(parent, d))]:
            path = f"{rel}/{name}"
            if path not in found.files and path not in found.links:
                return path
    return None


def _verify_blobs(plan: Plan, store: BlobStore, what: str) -> None:
    seen: dict[str, str | None] = {}
    bad: list[str] = []
    for path, entry in plan.writes:
        digest = entry["hash"]
        if digest not in seen:
            seen[digest] = store.problem(digest)
        if seen[digest] is not None:
            bad.append(f"{path!r} (blob {digest} {seen[digest]})")
    if bad:
        shown = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise BlobError(
            f"cannot restore {what}: {shown}. No file was changed. The blob store "
            f"{store.root} is damaged: restore it from a backup, or roll back to a "
            "checkpoint whose files are intact"
        )


# -- 3. apply ----------------------------------------------------------------------------


def _apply(
    target: Target, plan: Plan, wanted: Manifest, store: BlobStore, cache: StatCache, what: str
) -> None:
    ws = target.workspace
    current = ""
    try:
        for path in plan.deletes:
            current = path
            _remove(os.path.join(ws, path))
            cache.forget(path)
        for path in plan.clear_dirs:
            current = path
            shutil.rmtree(os.path.join(ws, path))
        for path, entry in plan.writes:
            current = path
            _write(store, entry, os.path.join(ws, path))
            cache.forget(path)
        for path, link in plan.links:
            current = path
            _symlink(link, os.path.join(ws, path))
        for path, mode in plan.chmods:
            current = path
            os.chmod(os.path.join(ws, path), mode)
        current = ""
        _prune(ws, [*plan.deletes, *plan.clear_dirs], wanted, target.roots)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise WTBError(
            f"restoring {what} failed at {current or 'an emptied directory'!r}: {reason}. "
            "The files are partly restored: fix the cause and roll back again"
        ) from exc


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _temp_beside(path: str) -> str:
    directory, name = os.path.split(path)
    os.makedirs(directory, exist_ok=True)
    return os.path.join(directory, f"{TMP_PREFIX}{secrets.token_hex(6)}-{name}")


def _write(store: BlobStore, entry: Entry, path: str) -> None:
    tmp = _temp_beside(path)
    try:
        store.copy_to(entry["hash"], tmp)
        os.chmod(tmp, entry["mode"])
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def _symlink(link: str, path: str) -> None:
    tmp = _temp_beside(path)
    os.symlink(link, tmp)
    try:
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def _prune(workspace: str, removed: Iterable[str], wanted: Manifest, roots: Sequence[str]) -> None:
    """Remove directories the deletions left empty, unless the manifest needs them (or
    they are tracked roots)."""
    needed = set(roots)
    for path in wanted:
        parent = path.rpartition("/")[0]
        while parent and parent not in needed:
            needed.add(parent)
            parent = parent.rpartition("/")[0]
    for path in removed:
        parent = path.rpartition("/")[0]
        while parent and parent not in needed:
            try:
                os.rmdir(os.path.join(workspace, parent))
            except OSError:
                break
            parent = parent.rpartition("/")[0]
