"""Finding the local interpreter a ``python_version`` asks for (``uv python find``)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from wtb_core import ConfigurationError
from wtb_uvenv.uvcli import UvFailed, run_uv

_PROBE = (
    "import sys, json; print(json.dumps([sys.implementation.name, list(sys.version_info[:3])]))"
)


@dataclass(frozen=True)
class Interpreter:
    """A local Python: its path (symlinks resolved), implementation and version."""

    path: str
    implementation: str
    version: tuple[int, int, int]

    @property
    def minor(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"

    def same_bytecode_as_this_process(self) -> bool:
        """Whether code objects marshalled here load there (same implementation and minor)."""
        return (
            self.implementation == sys.implementation.name
            and self.version[:2] == sys.version_info[:2]
        )

    def describe(self) -> str:
        return f"{self.implementation} {'.'.join(map(str, self.version))} at {self.path}"


def find_interpreter(request: str, cache_dir: Path, cwd: Path) -> Interpreter:
    """The interpreter ``request`` (a version such as ``"3.11"``, or a path) names among the
    local ones — never a virtual environment's, never a download; ``ConfigurationError``
    naming the request and the interpreters found when none matches."""
    try:
        found = run_uv(
            ["python", "find", "--system", "--no-project", "--no-config", request],
            cache_dir,
            cwd,
        ).strip()
    except UvFailed:
        raise ConfigurationError(
            f"no local Python interpreter matches python_version={request!r}; found: "
            f"{', '.join(installed_interpreters(cache_dir, cwd)) or 'none'}. Install that Python "
            "(e.g. `uv python install " + request + "`) or change the EnvSpec's python_version"
        ) from None
    return probe(found)


def probe(path: str) -> Interpreter:
    """Ask the interpreter at ``path`` what it is."""
    real = str(Path(path).resolve())
    out = subprocess.run(
        [real, "-I", "-c", _PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    implementation, version = json.loads(out)
    return Interpreter(real, implementation, (version[0], version[1], version[2]))


def installed_interpreters(cache_dir: Path, cwd: Path) -> list[str]:
    """``"cpython 3.11.7 at /path"`` for each local interpreter uv knows of."""
    try:
        listed = run_uv(
            ["python", "list", "--only-installed", "--output-format", "json", "--no-config"],
            cache_dir,
            cwd,
        )
        entries = json.loads(listed)
    except (UvFailed, ValueError):
        return []
    seen: dict[str, str] = {}
    for entry in entries:
        real = str(Path(entry.get("path") or "").resolve())
        seen.setdefault(real, f"{entry.get('implementation')} {entry.get('version')} at {real}")
    return list(seen.values())
