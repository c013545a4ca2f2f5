"""Running the ``uv`` binary of the ``uv`` Python package (no download)."""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path

import uv

from wtb_core import ConfigurationError

# uv variables that would change what a command does behind these settings' back
_DROPPED = ("VIRTUAL_ENV", "CONDA_PREFIX", "UV_PYTHON", "UV_SYSTEM_PYTHON", "UV_PROJECT")


class UvFailed(Exception):
    """A uv command exited non-zero; ``message`` is what uv printed."""

    def __init__(self, args: list[str], message: str) -> None:
        super().__init__(message)
        self.args_run, self.message = args, message


@cache
def uv_bin() -> str:
    """The path of the uv executable the ``uv`` package ships."""
    try:
        return os.fsdecode(uv.find_uv_bin())
    except FileNotFoundError as exc:
        raise ConfigurationError(
            f"the uv executable of the 'uv' package was not found ({exc}); reinstall it: "
            "pip install --force-reinstall uv"
        ) from None


def uv_environ(cache_dir: Path) -> dict[str, str]:
    """This process's variables for a uv command, with ``cache_dir`` as uv's cache."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env.update(UV_CACHE_DIR=str(cache_dir), UV_NO_PROGRESS="1", UV_PYTHON_DOWNLOADS="never")
    return env


def run_uv(
    args: list[str], cache_dir: Path, cwd: Path, stdin: str | None = None, timeout: float = 900
) -> str:
    """Run ``uv *args`` and return its stdout; ``UvFailed`` with uv's stderr when it fails."""
    command = [uv_bin(), *args]
    try:
        done = subprocess.run(
            command,
            input=stdin,
            capture_output=True,
            text=True,
            cwd=cwd,
            env=uv_environ(cache_dir),
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UvFailed(command, f"uv did not finish within {timeout:g} s") from None
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip() or f"exit status {done.returncode}"
        raise UvFailed(command, message)
    return done.stdout
