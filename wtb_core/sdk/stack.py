"""Assembling a stack from ``StackConfig``: plugins, metadata database, adapters."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from wtb_core.builtins.file_trackers import NoFileTracker
from wtb_core.config import StackConfig
from wtb_core.errors import ConfigurationError, StorageError
from wtb_core.install_hints import install_commands
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


NO_FILE_TRACKER = NoFileTracker.name
"""The builtin file tracker that tracks nothing."""

_CONFIGURED = (
    "set in the configuration: StackConfig(file_tracker=...), wtb.toml or WTB_FILE_TRACKER"
)


@dataclass(frozen=True)
class FileTrackerChoice:
    """Which file tracker a stack uses, and why (``wtb plugins`` prints ``describe()``).

    ``installed`` lists every registered file tracker but ``none``; ``configured`` says
    whether the configuration named the tracker (even as ``none``) or it was chosen."""

    name: str
    reason: str
    installed: tuple[str, ...] = ()
    configured: bool = False

    def describe(self) -> str:
        return f"file tracker: {self.name} ({self.reason})"

    def refusal(self, project: str) -> str | None:
        """Why ``project``, which tracks files, cannot run on this stack (it has no file
        tracker), saying what to install or to set; ``None`` when it can."""
        if self.name != NO_FILE_TRACKER:
            return None
        start = f"project {project!r} enables file tracking but"
        names = ", ".join(self.installed)
        if not self.installed:
            message = (
                f"{start} no file tracker is installed (the stack's file tracker is 'none'): "
                f"{_install_hint()}; the only one installed is used without further "
                "configuration"
            )
        elif self.configured:
            message = (
                f"{start} the stack's file tracker is set to 'none' (StackConfig.file_tracker, "
                f"wtb.toml or WTB_FILE_TRACKER): set it to an installed one ({names}), or "
                "leave it unset to use the only one installed"
            )
        else:
            message = (
                f"{start} several file trackers are installed ({names}) and the "
                "configuration does not say which to use: set WTB_FILE_TRACKER (or "
                "StackConfig(file_tracker=...), or file_tracker in wtb.toml) to one of them"
            )
        return message


def _install_hint() -> str:
    """``pip install <package>`` for the file trackers of the install-hint table."""
    hints = [
        f"{command} (file tracker {name!r})" for name, command in install_commands("file_tracker")
    ]
    return " or ".join(hints) or "install a plugin that registers a file tracker"


def choose_file_tracker(config: StackConfig, plugins: PluginRegistry) -> FileTrackerChoice:
    """The file tracker ``config`` stands for: the one it names, if it names one (an
    explicit ``none`` included); otherwise the only file tracker installed besides
    ``none``; otherwise ``none`` (none installed, or several and no way to choose — a
    project that tracks files is then refused: ``FileTrackerChoice.refusal``).

    "Names one" is told apart from the default by pydantic's ``model_fields_set``, which
    holds every field given as an argument, in ``wtb.toml`` or in ``WTB_*`` variables: the
    field keeps its default ``"none"``, so reading ``config.file_tracker`` alone says
    ``none`` for an unset field (the stack's ``file_tracker_choice`` says what is used)."""
    installed = tuple(n for n in plugins.names("file_tracker") if n != NO_FILE_TRACKER)
    if "file_tracker" in config.model_fields_set:
        return FileTrackerChoice(config.file_tracker, _CONFIGURED, installed, configured=True)
    if len(installed) == 1:
        return FileTrackerChoice(installed[0], "the only one installed", installed)
    if not installed:
        reason = f"no file tracker is installed; {_install_hint()} to track files"
    else:
        reason = (
            f"several are installed: {', '.join(installed)}; set WTB_FILE_TRACKER to the one to use"
        )
    return FileTrackerChoice(NO_FILE_TRACKER, reason, installed)


def _refuse_lost_checkpoints(factory: Any, config: StackConfig, metadata: MetadataStore) -> None:
    """A store keeping its data in one file (``data_file(config)``) must not quietly start
    an empty one while the metadata names checkpoints it held: that data is lost."""
    data_file = getattr(factory, "data_file", None)
    if data_file is None or data_file(config).exists():
        return
    count = metadata.count_checkpointed_executions()
    if count:
        raise StorageError(
            f"the checkpoint file {data_file(config)} is missing, but the metadata database "
            f"lists {count} execution(s) with checkpoints in it: their checkpoints are lost. "
            "Restore the file from a backup, or use another data directory"
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
    file_tracker_choice: FileTrackerChoice

    @classmethod
    def build(
        cls, config: StackConfig, plugins: Iterable[object] = (), load_entrypoints: bool = True
    ) -> Stack:
        registry = PluginRegistry(plugins, load_entrypoints=load_entrypoints)
        tracker = choose_file_tracker(config, registry)
        # Resolve every name first so a typo fails before anything is created.
        for kind in ("checkpoint_store", "environment_provider", "batch_runner"):
            registry.get(kind, getattr(config, kind))
        registry.get("file_tracker", tracker.name)
        config.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(config.metadata_url(), config.pool_size, config.pool_timeout)
        db.migrate()
        metadata = MetadataStore(db, StateCodec(lambda: checkpoints.saver.serde))
        _refuse_lost_checkpoints(
            registry.get("checkpoint_store", config.checkpoint_store).factory, config, metadata
        )
        checkpoints = registry.checkpoint_store(config.checkpoint_store, config)
        return cls(
            config=config,
            plugins=registry,
            db=db,
            metadata=metadata,
            checkpoints=checkpoints,
            environment=registry.environment_provider(config.environment_provider, config),
            file_tracker=registry.file_tracker(tracker.name, config, metadata),
            file_tracker_choice=tracker,
        )

    def close(self) -> None:
        self.file_tracker.close()
        self.environment.close()
        self.checkpoints.close()
        self.metadata.close()
        self.db.close()
