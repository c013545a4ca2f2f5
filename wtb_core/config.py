"""Configuration: the stack (``StackConfig``) and a project's own settings.

``StackConfig`` says *which* implementations assemble the stack (checkpoint store, batch
runner, file tracker, environment provider) and where data lives. It is read, highest
precedence first, from constructor arguments, then ``wtb.toml`` (or the file named by
``WTB_CONFIG``), then ``WTB_*`` environment variables. Swapping SQLite for PostgreSQL or
the thread pool for Ray is a configuration change, never a code change.

The project-level models (``FileTrackingConfig``, ``EnvironmentConfig``,
``ExecutionConfig`` …) follow the seeds' design documents.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_DATA_DIR = Path(".wtb")


def config_file_path() -> Path:
    """The TOML file the stack is read from: ``$WTB_CONFIG`` or ``./wtb.toml``."""
    return Path(os.environ.get("WTB_CONFIG", "wtb.toml"))


class StackConfig(BaseSettings):
    """Which implementation fills each port, and where data lives."""

    model_config = SettingsConfigDict(env_prefix="WTB_", extra="forbid", validate_default=True)

    checkpoint_store: str = Field("sqlite", description="memory | sqlite | postgres (wtb-postgres)")
    database_url: str | None = Field(
        None,
        description="Metadata database URL; None = SQLite file in data_dir. "
        "With checkpoint_store=postgres it is also where checkpoints live.",
    )
    batch_runner: str = Field("threadpool", description="sequential | threadpool | ray (wtb-ray)")
    file_tracker: str = Field("none", description="none | cas (wtb-filetrack)")
    environment_provider: str = Field("inprocess", description="inprocess | uv | ray")
    data_dir: Path = Field(DEFAULT_DATA_DIR, description="Embedded databases and files")
    ray_address: str | None = Field(None, description="Ray cluster address for wtb-ray")
    pool_size: int = Field(10, ge=1, description="Connection pool size of server databases")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The contract (API.md): arguments, then wtb.toml, then WTB_* variables.
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file_path())
        return (init_settings, toml, env_settings)

    def metadata_url(self) -> str:
        """The SQLAlchemy URL of the metadata database."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'wtb.sqlite').resolve()}"


class FileTrackingConfig(BaseModel):
    """Which files a workflow writes are snapshotted with its checkpoints (wtb-filetrack)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    tracked_paths: list[str] = Field(default_factory=list)
    ignore_patterns: list[str] = Field(
        default_factory=lambda: ["*.pyc", "__pycache__/", "*.log", ".git/", "*.tmp"]
    )
    auto_commit: bool = True
    commit_on: Literal["checkpoint", "node_complete", "manual"] = "checkpoint"
    repository_path: str | None = None
    snapshot_strategy: Literal["full", "incremental"] = "incremental"
    max_snapshots: int = Field(100, ge=1)
    change_notifications: bool = Field(
        True,
        description="incremental snapshots look only at the paths the OS reports changed "
        "(Linux inotify); turn off for network file systems written from other hosts",
    )


class EnvSpec(BaseModel):
    """One isolated environment: Python version, dependencies, variables."""

    model_config = ConfigDict(extra="forbid")

    python_version: str = "3.11"
    dependencies: list[str] = Field(default_factory=list)
    requirements_file: str | None = None
    env_vars: dict[str, str] = Field(default_factory=dict)


class EnvironmentConfig(BaseModel):
    """Environments at workflow, node or variant granularity (wtb-uvenv / wtb-ray)."""

    model_config = ConfigDict(extra="forbid")

    granularity: Literal["workflow", "node", "variant"] = "workflow"
    use_current_env: bool = False
    default_env: EnvSpec | None = None
    node_environments: dict[str, EnvSpec] = Field(default_factory=dict)
    variant_environments: dict[str, EnvSpec] = Field(
        default_factory=dict, description='Keys "node:variant" or "_workflow:variant"'
    )


_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")
_UNITS = {
    "": 1, "B": 1,
    "K": 10**3, "KB": 10**3, "M": 10**6, "MB": 10**6,
    "G": 10**9, "GB": 10**9, "T": 10**12, "TB": 10**12,
    "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40,
}  # fmt: skip


def parse_memory(text: str | int) -> int:
    """``"2GB"`` → 2_000_000_000 bytes, ``"512MiB"`` → 536_870_912; ints pass through."""
    if isinstance(text, int):
        return text
    match = _MEMORY.match(text)
    if not match or match.group(2).upper() not in _UNITS:
        raise ValueError(f"memory {text!r} is not a size such as '512MB', '2GB' or '1GiB'")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


class NodeResourceConfig(BaseModel):
    """Ray resources for one node (node-level allocation, workflow-level integration)."""

    model_config = ConfigDict(extra="forbid")

    num_cpus: float = Field(1.0, ge=0)
    num_gpus: float = Field(0.0, ge=0)
    memory: str = "1GB"
    custom_resources: dict[str, float] = Field(default_factory=dict)

    @field_validator("memory")
    @classmethod
    def _memory_parses(cls, value: str) -> str:
        parse_memory(value)
        return value

    def memory_bytes(self) -> int:
        return parse_memory(self.memory)


class RayConfig(BaseModel):
    """How the Ray batch runner reaches its cluster (wtb-ray)."""

    model_config = ConfigDict(extra="forbid")

    address: str = "auto"
    max_concurrent_workflows: int = Field(10, ge=1)
    object_store_memory: int | None = None
    max_retries: int = Field(3, ge=0)
    retry_delay: float = Field(1.0, ge=0)


class ExecutionConfig(BaseModel):
    """How a project's executions run.

    ``batch_executor=None`` (unlike the seeds' ``"ray"``) defers to the stack's
    ``batch_runner``, so a project runs unchanged on a machine without Ray.
    """

    model_config = ConfigDict(extra="forbid")

    batch_executor: Literal["ray", "threadpool", "sequential"] | None = None
    ray_config: RayConfig = Field(default_factory=RayConfig)
    node_resources: dict[str, NodeResourceConfig] = Field(default_factory=dict)
    default_node_resources: NodeResourceConfig | None = None
    recursion_limit: int = Field(25, ge=1, description="LangGraph super-step limit per run")
    durability: Literal["sync", "async"] = Field(
        "async",
        description="LangGraph checkpoint durability: 'sync' commits each checkpoint before "
        "the next step starts (a crash never repeats a finished node); 'async' overlaps the "
        "write with the next step. Cells on distributed runners always use 'sync'.",
    )
    default_timeout: float | None = Field(
        300, gt=0, description="Seconds; checked at node boundaries, then the run fails"
    )
