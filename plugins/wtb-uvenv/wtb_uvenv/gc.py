"""``wtb envs gc``: remove environments not used since a time — never one in use."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from filelock import Timeout

from wtb_core import ConfigurationError
from wtb_uvenv.build import TMP_PREFIX, TRASH_PREFIX, discard, is_complete, key_lock
from wtb_uvenv.usage import last_used, size_of

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """``"90s"``, ``"30m"``, ``"12h"``, ``"7d"``, ``"2w"`` → seconds."""
    match = _DURATION.match(text.lower())
    if not match:
        raise ConfigurationError(
            f"--older-than {text!r} is not a duration: give a number with s, m, h, d or w (e.g. 7d)"
        )
    return float(match.group(1)) * _SECONDS[match.group(2)]


@dataclass
class GcReport:
    removed: list[str] = field(default_factory=list)
    kept_in_use: list[str] = field(default_factory=list)
    kept_recent: list[str] = field(default_factory=list)
    half_built_removed: int = 0
    bytes_freed: int = 0


def collect_garbage(root: Path, older_than: float) -> GcReport:
    """Remove the environments under ``root`` last used more than ``older_than`` seconds
    ago and no bench holds a lease on, and half-built directories no builder is working on."""
    report = GcReport()
    cutoff = time.time() - older_than
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        if path.name.startswith((TMP_PREFIX, TRASH_PREFIX)):
            report.half_built_removed += _remove_abandoned(root, path)
        elif not path.name.startswith(".") and is_complete(path):
            _collect(root, path, cutoff, report)
    return report


def _collect(root: Path, path: Path, cutoff: float, report: GcReport) -> None:
    try:
        with key_lock(root, path.name).acquire(timeout=0):  # a builder or a starting bench
            fd = os.open(path / "in-use.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    report.kept_in_use.append(path.name)
                    return
                if last_used(path) >= cutoff:
                    report.kept_recent.append(path.name)
                    return
                size = size_of(path)
                discard(path)
                report.removed.append(path.name)
                report.bytes_freed += size
            finally:
                os.close(fd)
    except Timeout:
        report.kept_in_use.append(path.name)


def _remove_abandoned(root: Path, path: Path) -> int:
    key = path.name.removeprefix(TMP_PREFIX).removeprefix(TRASH_PREFIX).split("-")[0]
    try:
        with key_lock(root, key).acquire(timeout=0):
            shutil.rmtree(path, ignore_errors=True)
            return 1
    except Timeout:
        return 0
