"""Turning a scan into a manifest: unchanged files from the stat cache, the rest hashed
and stored as blobs (many or big files on a small thread pool); symbolic links leading
out of the tracked paths refused."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from wtb_core import WTBError
from wtb_filetrack.blobs import BlobStore
from wtb_filetrack.manifest import BuiltManifest, file_entry, fragment, link_digest, link_entry
from wtb_filetrack.scan import PERMISSIONS, Scan, StatCache, link_stays_inside

WORKERS = 4
PARALLEL_FILES = 64
PARALLEL_BYTES = 8 << 20


class LinkOutOfRootsError(WTBError):
    """A symbolic link in the tracked paths leads out of them: the snapshot is refused
    (a snapshot holding it could never be restored)."""


def check_links(workspace: str, roots: Sequence[str], links: Mapping[str, str]) -> None:
    """Refuse the snapshot when one of ``links`` (path → target, found by the scan) leads
    out of the tracked ``roots``, naming the link and its target: the restore refuses such
    links, so the mistake is reported when the link is made, not at a later rollback."""
    bad = sorted(p for p, link in links.items() if not link_stays_inside(workspace, roots, p, link))
    if not bad:
        return
    path, more = bad[0], (f" (and {len(bad) - 1} more: {bad[1:4]})" if len(bad) > 1 else "")
    tracked = [root or "." for root in roots]
    raise LinkOutOfRootsError(
        f"cannot snapshot the tracked files in {workspace}: {path!r} is a symbolic link to "
        f"{links[path]!r}, which leads out of the tracked paths {tracked}{more}; no rollback "
        "could restore a snapshot holding it. Make the link point inside the tracked paths, "
        f"replace it by a copy of what it points to, or add '/{path}' to "
        "FileTrackingConfig.ignore_patterns"
    )


def build_manifest(
    workspace: str, found: Scan, cache: StatCache, store: BlobStore, incremental: bool
) -> BuiltManifest:
    """The manifest of ``found``: the files the stat cache vouches for as they were, the
    others hashed and stored (then cached). A change scan (``found.base``) starts from
    a copy of the manifest it changes. Not ``incremental``: every file is hashed."""
    if found.base is not None:
        manifest = found.base.manifest.copy()
        fragments = found.base.fragments.copy()
        digests = found.base.digests.copy()
        for rel in found.removed:
            del manifest[rel], fragments[rel], digests[rel]
    else:
        manifest = {rel: c.entry for rel, c in found.unchanged.items()}
        fragments = {rel: c.fragment for rel, c in found.unchanged.items()}
        digests = {rel: c.entry["hash"] for rel, c in found.unchanged.items()}
    todo: list[tuple[str, os.stat_result]] = []
    for rel, st in found.files.items():
        c = cache.get(rel, st) if incremental else None
        if c is None:
            todo.append((rel, st))
            continue
        if c.entry["mode"] != st.st_mode & PERMISSIONS:  # chmod alone: the content is known
            c.entry = file_entry(c.entry["hash"], c.entry["size"], st.st_mode & PERMISSIONS)
            c.fragment = fragment(rel, c.entry)
        manifest[rel], fragments[rel], digests[rel] = c.entry, c.fragment, c.entry["hash"]
    for rel, st, digest, size in _store(workspace, todo, store):
        entry = file_entry(digest, size, st.st_mode & PERMISSIONS)
        manifest[rel], fragments[rel], digests[rel] = entry, fragment(rel, entry), digest
        cache.record(rel, st, entry, fragments[rel], found.started_ns)
    for rel, target in found.links.items():
        manifest[rel] = link_entry(target)
        fragments[rel], digests[rel] = fragment(rel, manifest[rel]), link_digest(target)
    return BuiltManifest(manifest, fragments, digests)


Stored = tuple[str, os.stat_result, str, int]


def _store(
    workspace: str, todo: list[tuple[str, os.stat_result]], store: BlobStore
) -> list[Stored]:
    """(path, stat, digest, size) of each file stored; files gone meanwhile are left out.
    Many files, or big ones, are shared out to a few threads: creating blob files waits
    on the file system and hashing big buffers releases the GIL."""
    if len(todo) < PARALLEL_FILES and sum(st.st_size for _, st in todo) < PARALLEL_BYTES:
        return _store_all(workspace, todo, store)
    shares = [todo[i::WORKERS] for i in range(WORKERS)]
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="wtb-filetrack") as pool:
        done = pool.map(lambda share: _store_all(workspace, share, store), shares)
        return [stored for share in done for stored in share]


def _store_all(
    workspace: str, todo: list[tuple[str, os.stat_result]], store: BlobStore
) -> list[Stored]:
    stored = []
    for rel, st in todo:
        try:
            digest, size = store.put_file(os.path.join(workspace, rel))
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise WTBError(
                f"cannot snapshot the tracked file {rel!r} in {workspace}: "
                f"{exc.strerror or exc}; make it readable or add it to "
                "FileTrackingConfig.ignore_patterns"
            ) from exc
        stored.append((rel, st, digest, size))
    return stored
