"""File commits: the manifest of one snapshot and its content-derived id.

A manifest maps a workspace-relative POSIX path to ``{"hash", "size", "mode"}`` for a
regular file or ``{"link": target}`` for a symbolic link. The commit id is the SHA-256 of
the canonical JSON of the manifest (sorted keys, no spaces), so identical trees share one
commit. Each entry's JSON fragment is kept with it: a snapshot that changes ten files of
ten thousand re-encodes ten entries, not all of them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from wtb_core.domain.models import FileSnapshot

Entry = dict[str, Any]
Manifest = dict[str, Entry]


def file_entry(digest: str, size: int, mode: int) -> Entry:
    return {"hash": digest, "size": size, "mode": mode}


def link_entry(target: str) -> Entry:
    return {"link": target}


def fragment(path: str, entry: Entry) -> str:
    """``"path":{...}``: the entry exactly as it appears in the canonical JSON."""
    return json.dumps({path: entry}, sort_keys=True, separators=(",", ":"))[1:-1]


def canonical_json(fragments: Mapping[str, str]) -> str:
    """The canonical JSON of the manifest whose entries' fragments are ``fragments``."""
    return "{" + ",".join([fragments[path] for path in sorted(fragments)]) + "}"


def commit_id_of(text: str) -> str:
    """The commit id of a manifest: the SHA-256 of its canonical JSON."""
    return hashlib.sha256(text.encode()).hexdigest()


def link_digest(target: str) -> str:
    """What ``FileSnapshot.files`` shows for a symbolic link: the SHA-256 of its target."""
    return hashlib.sha256(target.encode()).hexdigest()


def to_snapshot(
    checkpoint_id: str, commit: str, manifest: Manifest, created_at: datetime
) -> FileSnapshot:
    return FileSnapshot.model_construct(  # built from trusted values, many files: no re-check
        checkpoint_id=checkpoint_id,
        commit_id=commit,
        files={
            path: entry["hash"] if "hash" in entry else link_digest(entry["link"])
            for path, entry in manifest.items()
        },
        created_at=created_at,
    )
