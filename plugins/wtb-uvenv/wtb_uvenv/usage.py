"""Who uses an environment: a shared lock while a bench uses it (``Lease``), and one
record per project / node / variant with the time it last used the environment."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wtb_uvenv.build import MARKER, BuiltEnv, is_complete, read_marker

USES = "uses"


class Lease:
    """A shared ``flock`` on the environment's ``in-use.lock``: the garbage collector
    removes only environments it can lock exclusively. Released by ``release()`` or when
    this process exits."""

    def __init__(self, env: BuiltEnv) -> None:
        self._fd: int | None = os.open(env.in_use_file, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_SH)

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the descriptor drops the lock


def in_use(path: Path) -> bool:
    """Whether some bench (in any process) holds a lease on the environment at ``path``."""
    try:
        fd = os.open(path / "in-use.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def record_use(env: BuiltEnv, project: str, node: str, variant: str | None) -> None:
    """Note that ``project`` / ``node`` / ``variant`` uses ``env`` now (atomic write)."""
    uses = env.path / USES
    uses.mkdir(exist_ok=True)
    name = hashlib.sha256(json.dumps([project, node, variant]).encode()).hexdigest()[:16]
    record = {"project": project, "node": node, "variant": variant, "last_used": time.time()}
    tmp = uses / f".{name}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(record))
    os.replace(tmp, uses / f"{name}.json")


@dataclass
class EnvInfo:
    """One environment as ``wtb envs list`` shows it."""

    key: str
    path: str
    python: str
    packages: list[str]
    spec: dict[str, Any]
    size_bytes: int
    created_at: float
    last_used: float
    in_use: bool
    used_by: list[dict[str, Any]] = field(default_factory=list)


def uses_of(path: Path) -> list[dict[str, Any]]:
    found = []
    for record in sorted((path / USES).glob("*.json")):
        try:
            found.append(json.loads(record.read_text()))
        except (OSError, ValueError):
            continue  # a record being replaced
    return sorted(found, key=lambda use: -float(use.get("last_used", 0)))


def last_used(path: Path) -> float:
    """When the environment was last used (its creation if never)."""
    times = [float(use.get("last_used", 0)) for use in uses_of(path)]
    created = float(read_marker(path).get("created_at", 0)) or (path / MARKER).stat().st_mtime
    return max([created, *times])


def size_of(path: Path) -> int:
    """Bytes of the files under ``path`` (hard links into uv's cache counted here too)."""
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_size
            except OSError:
                continue
    return total


def list_envs(root: Path) -> list[EnvInfo]:
    """Every complete environment under ``root``, most recently used first."""
    infos = []
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        if path.name.startswith(".") or not is_complete(path):
            continue
        marker = read_marker(path)
        infos.append(
            EnvInfo(
                key=path.name,
                path=str(path),
                python=str(marker.get("python", "")),
                packages=list(marker.get("packages", [])),
                spec=dict(marker.get("spec", {})),
                size_bytes=size_of(path),
                created_at=float(marker.get("created_at", 0)),
                last_used=last_used(path),
                in_use=in_use(path),
                used_by=uses_of(path),
            )
        )
    return sorted(infos, key=lambda info: -info.last_used)
