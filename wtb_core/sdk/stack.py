"""Assembling a stack from ``StackConfig``: plugins, metadata database, adapters."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from wtb_core.config import StackConfig
from wtb_core.errors import ConfigurationError
from wtb_core.ports import CheckpointStore, EnvironmentProvider, FileTracker
from wtb_core.registry import PluginRegistry
from wtb_core.storage.database import Database
from wtb_core.storage.metadata import MetadataStore
from wtb_core.storage.state_codec import StateCodec

Mode = Literal["testing", "development", "production"]


def config_for_mode(mode: Mode, data_dir: str | Path | None, **overrides: Any) -> StackConfig:
    """The stack each ``WTBTestBench.create`` mode stands for.

    * ``testing`` — checkpoints and metadata in memory, files in a temporary directory.
    * ``development`` — the embedded default: SQLite under ``data_dir``.
    * ``production`` — whatever ``wtb.toml`` / ``WTB_*`` say; an in-memory store is refused.
    """
    if data_dir is not None:
        overrides["data_dir"] = Path(data_dir)
    if mode == "testing":
        overrides.setdefault("data_dir", Path(tempfile.mkdtemp(prefix="wtb-testing-")))
        return StackConfig(checkpoint_store="memory", database_url="sqlite://", **overrides)
    if mode == "development":
        return StackConfig(**overrides)
    if mode == "production":
        config = StackConfig(**overrides)
        if config.checkpoint_store == "memory" or config.metadata_url() == "sqlite://":
            raise ConfigurationError(
                "production mode keeps nothing in memory: set WTB_CHECKPOINT_STORE (sqlite or "
                "postgres) and WTB_DATABASE_URL, or use mode='testing'"
            )
        return config
    raise ConfigurationError(
        f"unknown mode {mode!r}: choose 'testing', 'development' or 'production'"
    )


@dataclass
class Stack:
    """The adapters filling each port, built once per bench."""

    config: StackConfig
    plugins: PluginRegistry
    db: Database
    metadata: MetadataStore
    checkpoints: CheckpointStore
    environment: EnvironmentProvider
    file_tracker: FileTracker

    @classmethod
    def build(
        cls, config: StackConfig, plugins: Iterable[object] = (), load_entrypoints: bool = True
    ) -> Stack:
        registry = PluginRegistry(plugins, load_entrypoints=load_entrypoints)
        # Resolve every name first so a typo fails before anything is created.
        for kind in ("checkpoint_store", "environment_provider", "file_tracker", "batch_runner"):
            registry.get(kind, getattr(config, kind))
        config.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(config.metadata_url(), pool_size=config.pool_size)
        db.migrate()
        checkpoints = registry.create("checkpoint_store", config.checkpoint_store, config)
        metadata = MetadataStore(db, StateCodec(checkpoints.saver.serde))
        return cls(
            config=config,
            plugins=registry,
            db=db,
            metadata=metadata,
            checkpoints=checkpoints,
            environment=registry.create(
                "environment_provider", config.environment_provider, config
            ),
            file_tracker=registry.create("file_tracker", config.file_tracker, config, metadata),
        )

    def close(self) -> None:
        self.file_tracker.close()
        self.environment.close()
        self.checkpoints.close()
        self.metadata.close()
        self.db.close()
