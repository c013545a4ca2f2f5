"""Content addresses of environments: the resolved requirement set, the interpreter, the
index settings and the worker's version, hashed."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from wtb_core.plugin import EnvSpec
from wtb_uvenv import worker_script
from wtb_uvenv.interpreters import Interpreter
from wtb_uvenv.settings import UvEnvSettings
from wtb_uvenv.uvcli import UvFailed, run_uv

KEY_LENGTH = 24  # hex digits of the SHA-256 naming an environment's directory
# uv variables that choose indexes when the settings do not
_INDEX_VARIABLES = ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_INDEX")


def worker_version() -> str:
    """A hash of the worker script: a changed worker gets new environments."""
    return hashlib.sha256(Path(worker_script.__file__).read_bytes()).hexdigest()[:16]


@dataclass(frozen=True)
class Requirements:
    """What an ``EnvSpec`` asks to install, before resolution."""

    dependencies: tuple[str, ...]
    requirements_file: str | None  # absolute path
    requirements_text: str  # the file's contents ("" without one)

    @classmethod
    def of(cls, env: EnvSpec) -> Requirements:
        path = Path(env.requirements_file).resolve() if env.requirements_file else None
        return cls(
            tuple(env.dependencies),
            str(path) if path else None,
            path.read_text() if path else "",
        )


@dataclass(frozen=True)
class Resolution:
    """An environment's resolved requirements and its key."""

    key: str
    pins: str  # `uv pip compile` output: one pinned requirement a line
    interpreter: Interpreter

    @property
    def packages(self) -> list[str]:
        return [line for line in self.pins.splitlines() if line and not line.startswith("#")]


def index_settings(settings: UvEnvSettings) -> dict[str, object]:
    """The index configuration a resolution depends on."""
    return {
        "index_url": settings.index_url,
        "extra_index_urls": list(settings.extra_index_urls),
        "environment": {name: os.environ[name] for name in _INDEX_VARIABLES if name in os.environ},
    }


def resolve(
    requirements: Requirements, interpreter: Interpreter, settings: UvEnvSettings
) -> Resolution:
    """Resolve with ``uv pip compile`` for ``interpreter`` and hash the result.

    ``UvFailed`` (with uv's message) when the requirements cannot be resolved.
    """
    pins = ""
    if requirements.dependencies or requirements.requirements_file:
        sources = ["-"] + (
            [requirements.requirements_file] if requirements.requirements_file else []
        )
        args = ["pip", "compile", *sources, "--python", interpreter.path, "--no-header"]
        args += ["--no-annotate", "--no-config", "--quiet", *settings.index_args()]
        pins = run_uv(
            args, settings.cache, settings.root, stdin="\n".join(requirements.dependencies) + "\n"
        )
    pins = "\n".join(sorted(line.strip() for line in pins.splitlines() if line.strip())) + "\n"
    material = {
        "pins": pins,
        "requirements_file": hashlib.sha256(requirements.requirements_text.encode()).hexdigest(),
        "interpreter": [interpreter.implementation, list(interpreter.version), interpreter.path],
        "index": index_settings(settings),
        "worker": worker_version(),
        "bytecode": settings.compile_bytecode,
    }
    digest = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
    return Resolution(digest[:KEY_LENGTH], pins, interpreter)


__all__ = ["Requirements", "Resolution", "UvFailed", "resolve", "worker_version"]
