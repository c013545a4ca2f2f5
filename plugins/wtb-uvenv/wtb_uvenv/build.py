"""Building an environment atomically: in a temporary directory next to the final one,
completed with a marker, then renamed into place — under a per-key file lock, so
concurrent builders (threads, processes) build once and the others wait.

A directory counts as an environment only when it is ``<env_root>/<key>`` and holds the
marker; a half-built one (``.tmp-<key>-*``, left by a crash mid-install) is never used and
is removed by the next build of that key.
"""

from __future__ import annotations

import compileall
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from wtb_uvenv import worker_script
from wtb_uvenv.interpreters import Interpreter
from wtb_uvenv.keys import Resolution, worker_version
from wtb_uvenv.settings import UvEnvSettings
from wtb_uvenv.uvcli import UvFailed, run_uv

MARKER = "wtb-env.json"
PINS = "wtb-requirements.txt"
WORKER_MODULE = "wtb_uvenv_worker"
TMP_PREFIX = ".tmp-"
TRASH_PREFIX = ".trash-"


@dataclass(frozen=True)
class BuiltEnv:
    """A complete environment on disk."""

    key: str
    path: Path

    @property
    def python(self) -> Path:
        scripts = "Scripts" if sys.platform == "win32" else "bin"
        return self.path / scripts / ("python.exe" if sys.platform == "win32" else "python")

    @property
    def in_use_file(self) -> Path:
        return self.path / "in-use.lock"


def key_lock(root: Path, key: str) -> FileLock:
    """The lock builders, users and the garbage collector of ``key`` take."""
    locks = root / ".locks"
    locks.mkdir(exist_ok=True)
    return FileLock(locks / f"{key}.lock")


def is_complete(path: Path) -> bool:
    return (path / MARKER).is_file()


def discard(path: Path) -> None:
    """Remove a directory: renamed aside first, so no one sees it half-deleted."""
    if not path.exists():
        return
    trash = path.with_name(f"{TRASH_PREFIX}{path.name}-{uuid.uuid4().hex[:8]}")
    os.rename(path, trash)
    shutil.rmtree(trash, ignore_errors=True)


def ensure_built(
    resolution: Resolution, settings: UvEnvSettings, spec: dict[str, Any]
) -> tuple[BuiltEnv, bool]:
    """The environment of ``resolution``, built unless it exists; also whether this call
    built it. Call it holding ``key_lock`` (``UvFailed`` when uv cannot install)."""
    root, key = settings.root, resolution.key
    env = BuiltEnv(key, root / key)
    if is_complete(env.path):
        return env, False
    discard(env.path)  # a directory without the marker is not an environment
    for stale in root.glob(f"{TMP_PREFIX}{key}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = root / f"{TMP_PREFIX}{key}-{uuid.uuid4().hex[:8]}"
    try:
        _build(tmp, env.path, resolution, settings)
        _write_marker(tmp, resolution, spec)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    os.rename(tmp, env.path)
    return env, True


def _build(tmp: Path, final: Path, resolution: Resolution, settings: UvEnvSettings) -> None:
    cache, root = settings.cache, settings.root
    venv = ["venv", "--relocatable", "--python", resolution.interpreter.path, "--no-config"]
    run_uv([*venv, "--no-project", "--quiet", str(tmp)], cache, root)
    python = str(BuiltEnv(resolution.key, tmp).python)
    (tmp / PINS).write_text(resolution.pins)
    if resolution.packages:
        install = ["pip", "install", "--python", python, "--no-deps", "--no-config", "--quiet"]
        install += ["--link-mode", "hardlink"]  # the cache is on this file system
        install += ["-r", str(tmp / PINS), *settings.index_args()]
        try:  # a warm cache has every pinned file: no index round trip
            run_uv([*install, "--offline"], cache, root)
        except UvFailed:
            run_uv(install, cache, root)
    site = _site_packages(tmp)
    shutil.copyfile(worker_script.__file__, site / f"{WORKER_MODULE}.py")
    if settings.compile_bytecode:
        _compile_bytecode(site, tmp, final, python, resolution.interpreter)


def _compile_bytecode(
    site: Path, tmp: Path, final: Path, python: str, interpreter: Interpreter
) -> None:
    """Write ``.pyc`` files naming the final paths (tracebacks then show the source): in
    this process when the environment's Python has its bytecode format, else with it.
    Files that do not compile are skipped, as pip and uv skip them."""
    if interpreter.same_bytecode_as_this_process():
        with contextlib.redirect_stdout(io.StringIO()):
            compileall.compile_dir(site, quiet=2, stripdir=str(tmp), prependdir=str(final))
        return
    compile_all = [python, "-I", "-m", "compileall", "-q", "-s", str(tmp), "-p", str(final)]
    subprocess.run([*compile_all, str(site)], capture_output=True, check=False, timeout=900)


def _site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python*/site-packages")) or [venv / "Lib" / "site-packages"]
    return found[0]


def _write_marker(tmp: Path, resolution: Resolution, spec: dict[str, Any]) -> None:
    marker = {
        "key": resolution.key,
        "spec": spec,
        "packages": resolution.packages,
        "python": resolution.interpreter.describe(),
        "worker": worker_version(),
        "created_at": time.time(),
    }
    (tmp / MARKER).write_text(json.dumps(marker, indent=2))


def read_marker(path: Path) -> dict[str, Any]:
    """An environment's marker (``{}`` when unreadable)."""
    try:
        data: dict[str, Any] = json.loads((path / MARKER).read_text())
        return data
    except (OSError, ValueError):
        return {}
