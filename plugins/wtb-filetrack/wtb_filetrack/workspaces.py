"""Workspaces of their own for parallel batch cells, seeded from the base workspace.

The tracked paths are copied with GNU ``cp --reflink=auto -a``: copy-on-write clones where
the file system can (btrfs, XFS, bcachefs …), plain copies elsewhere; without GNU cp,
``shutil``'s copies. Never hard links: a cell writing a file in place would change the base.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from wtb_core import WTBError

ATTEMPTS = 3


def workspace_dir(root: Path, key: str) -> Path:
    """``root/key``, refusing keys that would leave ``root``."""
    norm = posixpath.normpath(key) if key else ""
    if not norm or norm.startswith(("/", "../")) or norm in (".", ".."):
        raise WTBError(
            f"workspace key {key!r} must be a relative path without '..' (such as "
            "'batch-id/c0-k0-r0')"
        )
    return root / norm


def prepare(base: Path, roots: Sequence[str], target: Path, excluded: frozenset[str]) -> Path:
    """Create ``target`` afresh, holding a copy of each tracked root of ``base``."""
    if target.exists():  # left by an earlier run of the same cell
        shutil.rmtree(target)
    _make(target)
    for root in roots:
        source = base / root if root else base
        if os.path.lexists(source):
            copy_tree(source, target / root if root else target, excluded)
    return target


def _make(target: Path) -> None:
    """``mkdir -p``, retried when a concurrent ``discard`` removes an emptied parent."""
    for attempt in range(ATTEMPTS):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.mkdir()
            return
        except FileNotFoundError:
            if attempt == ATTEMPTS - 1:
                raise


def copy_tree(source: Path, destination: Path, excluded: frozenset[str]) -> None:
    """Copy ``source`` (file, link or directory) to ``destination``, leaving out the
    ``excluded`` directories (WTB's own storage when it lies inside the workspace)."""
    text = str(source)
    if text in excluded:
        return
    is_dir = source.is_dir() and not source.is_symlink()
    if is_dir and (destination.exists() or any(e.startswith(text + "/") for e in excluded)):
        destination.mkdir(parents=True, exist_ok=True)  # child by child
        for child in os.scandir(source):
            copy_tree(Path(child.path), destination / child.name, excluded)
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    if not _copy_with_cp(source, destination):
        _copy_with_python(source, destination, is_dir)


def _copy_with_cp(source: Path, destination: Path) -> bool:
    """GNU ``cp --reflink=auto -a``; False when it is not available (then nothing was
    copied)."""
    cp = shutil.which("cp")
    if cp is None:
        return False
    done = subprocess.run(
        [cp, "--reflink=auto", "-a", "--", str(source), str(destination)],
        capture_output=True,
        check=False,
    )
    if done.returncode == 0:
        return True
    if os.path.lexists(destination):
        _remove(destination)
    return False


def _copy_with_python(source: Path, destination: Path, is_dir: bool) -> None:
    if is_dir:
        shutil.copytree(source, destination, symlinks=True, dirs_exist_ok=True)
    else:
        shutil.copy2(source, destination, follow_symlinks=False)


def discard(workspace: Path, roots: Sequence[Path]) -> None:
    """Delete ``workspace`` and the parents it leaves empty, if it lies inside one of
    ``roots`` (the directories this tracker makes workspaces in); refuse otherwise."""
    owner = next((r for r in roots if workspace.is_relative_to(r) and workspace != r), None)
    if owner is None:
        raise WTBError(
            f"refusing to delete {workspace}: it is not a workspace wtb-filetrack prepared "
            f"(those live under {', '.join(map(str, roots))})"
        )
    if os.path.lexists(workspace):
        _remove(workspace)
    for parent in workspace.parents:
        if parent == owner or not parent.is_relative_to(owner):
            break
        try:
            parent.rmdir()
        except OSError:
            break


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
