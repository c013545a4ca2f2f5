"""The content-addressed blob store: ``objects/ab/cdef…`` named by the SHA-256 of the bytes.

Identical content is stored once, whoever writes it. A blob is written to a temporary file
in its fan-out directory and renamed into place (``os.replace``), so a reader never sees a
partial blob; it is created read-only (0o444). Blobs are not fsynced one by one: a blob
damaged by a power loss is caught by the hash check every restore makes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20
"""Files up to this size are read at once; larger ones stream in chunks of this size."""

TMP_PREFIX = "tmp_"
"""Temporary files in the fan-out directories start with this (never a hex digit)."""

_BINARY = getattr(os, "O_BINARY", 0)
_READ = os.O_RDONLY | _BINARY
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY


def hash_file(path: str | os.PathLike[str]) -> str:
    """The SHA-256 hex digest of a file's content."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class BlobStore:
    """Blobs under ``root/objects``; safe for many threads and processes at once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self._objects = str(self.objects)

    def path_of(self, digest: str) -> str:
        return f"{self._objects}/{digest[:2]}/{digest[2:]}"

    def put_file(self, path: str) -> tuple[str, int]:
        """Store a file's content; returns its (SHA-256, size). The digest always names
        the bytes stored, even when the file changes while it is read."""
        fd = os.open(path, _READ)
        try:
            size = os.fstat(fd).st_size
            if size <= CHUNK:  # one read; os-level calls, this is the hot path
                data = os.read(fd, size + 1)
                if len(data) <= size:
                    digest = hashlib.sha256(data).hexdigest()
                    self._put_bytes(digest, data)
                    return digest, len(data)
                os.lseek(fd, 0, os.SEEK_SET)  # it grew meanwhile: stream it
            with open(fd, "rb", closefd=False) as f:
                return self._put_stream(f)
        finally:
            os.close(fd)

    def _put_bytes(self, digest: str, data: bytes) -> None:
        final = self.path_of(digest)
        if self._present(final):
            return
        tmp, fd = self._temp(digest[:2])
        try:
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
            os.replace(tmp, final)
        except BaseException:
            _unlink(tmp)
            raise

    def _put_stream(self, f: BinaryIO) -> tuple[str, int]:
        """Hash the whole file first: when the blob exists (the common case for big inputs
        seen before) nothing is written. Otherwise copy it while hashing again."""
        h = hashlib.sha256()
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
        if self._present(self.path_of(h.hexdigest())):
            return h.hexdigest(), f.tell()
        f.seek(0)
        h, size = hashlib.sha256(), 0
        tmp, fd = self._temp("tmp")
        try:
            with open(fd, "wb", closefd=True) as out:
                for chunk in iter(lambda: f.read(CHUNK), b""):
                    h.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            digest = h.hexdigest()
            final = self.path_of(digest)
            if self._present(final):
                _unlink(tmp)
            else:
                os.makedirs(os.path.dirname(final), exist_ok=True)
                os.replace(tmp, final)
        except BaseException:
            _unlink(tmp)
            raise
        return digest, size

    def _present(self, final: str) -> bool:
        """Whether the blob exists; an existing blob is touched so garbage collection's
        grace period also covers blobs a snapshot in progress reuses."""
        try:
            os.utime(final)
        except FileNotFoundError:
            return False
        except PermissionError:  # someone else's blob in a shared store: it exists
            return True
        return True

    def _temp(self, fanout: str) -> tuple[str, int]:
        """A new read-only temporary file in ``objects/<fanout>/`` and its descriptor."""
        directory = f"{self._objects}/{fanout}"
        tmp = f"{directory}/{TMP_PREFIX}{secrets.token_hex(8)}"
        try:
            return tmp, os.open(tmp, _CREATE, 0o444)
        except FileNotFoundError:
            os.makedirs(directory, exist_ok=True)
            return tmp, os.open(tmp, _CREATE, 0o444)

    def problem(self, digest: str) -> str | None:
        """``None`` when the blob exists and its content hashes to ``digest``; otherwise
        what is wrong with it."""
        try:
            actual = hash_file(self.path_of(digest))
        except FileNotFoundError:
            return "is missing"
        except OSError as exc:
            return f"cannot be read ({exc.strerror or exc})"
        if actual != digest:
            return f"is corrupt (its content hashes to {actual[:12]}…)"
        return None

    def copy_to(self, digest: str, destination: str) -> None:
        """Write the blob's content to ``destination`` (a new, writable file), checking the
        bytes copied still hash to ``digest``; ``ValueError`` when they do not."""
        h = hashlib.sha256()
        with open(self.path_of(digest), "rb") as blob, open(destination, "xb") as out:
            for chunk in iter(lambda: blob.read(CHUNK), b""):
                h.update(chunk)
                out.write(chunk)
        if h.hexdigest() != digest:
            raise ValueError(f"blob {digest} changed while it was copied: it is corrupt")

    def blobs(self) -> Iterator[tuple[str, str]]:
        """Every stored blob as (digest, path)."""
        if not self.objects.is_dir():
            return
        for fanout in os.scandir(self._objects):
            if len(fanout.name) != 2 or not fanout.is_dir(follow_symlinks=False):
                continue
            for blob in os.scandir(fanout.path):
                if not blob.name.startswith(TMP_PREFIX):
                    yield fanout.name + blob.name, blob.path

    def temporaries(self) -> Iterator[str]:
        """Temporary files left by writers (a crashed one leaves them behind)."""
        if not self.objects.is_dir():
            return
        for fanout in os.scandir(self._objects):
            if fanout.is_dir(follow_symlinks=False):
                for entry in os.scandir(fanout.path):
                    if entry.name.startswith(TMP_PREFIX):
                        yield entry.path


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
