"""``wtb integrity``'s look at the blob stores: every blob a linked commit lists is there
and (for a random sample, or all with ``deep``) hashes to its name; blobs no commit lists
are what ``wtb gc`` would free. Reads only."""

from __future__ import annotations

import os
import random
from pathlib import Path

from wtb_core.plugin import FileStorageCheck, MetadataStore, StoredFileProblem
from wtb_filetrack.blobs import BlobStore
from wtb_filetrack.gc import repository_paths


def check_storage(
    data_dir: Path, metadata: MetadataStore, deep: bool = False, sample: int = 64
) -> FileStorageCheck:
    """Check the blob stores of every repository the stored projects use."""
    stores = [BlobStore(path) for path in repository_paths(data_dir, metadata)]
    referenced = metadata.file_blob_commits()
    stored: dict[str, BlobStore] = {}
    for store in stores:
        for digest, _ in store.blobs():
            stored.setdefault(digest, store)
    problems: list[StoredFileProblem] = []
    present = []
    for digest, commits in sorted(referenced.items()):
        if digest in stored:
            present.append(digest)
            continue
        problems.append(
            StoredFileProblem(
                "missing_blob",
                f"blob {digest[:12]}",
                f"is missing from {', '.join(str(s.root) for s in stores)}",
                tuple(sorted(commits)),
            )
        )
    chosen = present if deep or len(present) <= sample else random.sample(present, sample)
    for digest in chosen:
        trouble = stored[digest].problem(digest)
        if trouble is not None:
            problems.append(
                StoredFileProblem(
                    "corrupt_blob",
                    f"blob {digest[:12]}",
                    f"{stored[digest].path_of(digest)} {trouble}",
                    tuple(sorted(referenced[digest])),
                )
            )
    for digest, store in sorted(stored.items()):
        if digest not in referenced:
            path = store.path_of(digest)
            problems.append(
                StoredFileProblem(
                    "unreferenced_blob",
                    f"blob {digest[:12]}",
                    f"{path} ({_size(path)} bytes) is listed by no file commit",
                )
            )
    return FileStorageCheck(len(stored), len(chosen), tuple(problems))


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0
