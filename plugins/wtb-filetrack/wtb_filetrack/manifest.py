"""Manifest entries: what a snapshot records per tracked path.

A manifest maps a workspace-relative POSIX path to ``{"hash", "size", "mode"}`` for a
regular file or ``{"link": target}`` for a symbolic link. The kernel stores it as a file
commit (``wtb_core.plugin``'s chunk format: content-addressed chunks, identical trees
sharing one commit). Each entry's JSON (``fragment``) is kept with it in the stat cache: a
snapshot that changes ten files of ten thousand encodes ten entries, not all of them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from wtb_core import FileSnapshot
from wtb_core.plugin import Entry, Manifest
from wtb_core.plugin import entry_json as fragment

__all__ = [
    "BuiltManifest",
    "Entry",
    "Manifest",
    "file_entry",
    "fragment",
    "link_digest",
    "link_entry",
]


@dataclass(frozen=True)
class BuiltManifest:
    """A snapshot's manifest with each entry's JSON and what ``FileSnapshot.files`` shows
    (path → content hash). Never changed once built: the next snapshot copies it."""

    manifest: Manifest
    fragments: dict[str, str]
    digests: dict[str, str]


def file_entry(digest: str, size: int, mode: int) -> Entry:
    return {"hash": digest, "size": size, "mode": mode}


def link_entry(target: str) -> Entry:
    return {"link": target}


def link_digest(target: str) -> str:
    """What ``FileSnapshot.files`` shows for a symbolic link: the SHA-256 of its target."""
    return hashlib.sha256(target.encode()).hexdigest()


def digest_of(entry: Entry) -> str:
    """What ``FileSnapshot.files`` shows for an entry."""
    return entry["hash"] if "hash" in entry else link_digest(entry["link"])


def to_snapshot(
    checkpoint_id: str, commit: str, digests: dict[str, str], created_at: datetime
) -> FileSnapshot:
    return FileSnapshot.model_construct(  # built from trusted values, many files: no re-check
        checkpoint_id=checkpoint_id, commit_id=commit, files=digests, created_at=created_at
    )
