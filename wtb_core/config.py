"""Configuration: the stack (``StackConfig``) and a project's own settings.

``StackConfig`` says *which* implementations assemble the stack (checkpoint store, batch
runner, file tracker, environment provider) and where data lives. It is read, highest
precedence first, from constructor arguments, then ``wtb.toml`` (or the file named by
``WTB_CONFIG``), then ``WTB_*`` environment variables. Swapping SQLite for PostgreSQL or
the thread pool for Ray is a configuration change, never a code change.

A bad setting is a ``ConfigurationError`` (``InvalidSettingError``) naming the setting, where
it came from (``wtb.toml``, a ``WTB_*`` variable, an argument, the default), the bad value
and what is allowed; an unreadable ``wtb.toml`` names the file and the problem.

The project-level models (``FileTrackingConfig``, ``EnvironmentConfig``,
``ExecutionConfig`` …) are the blocks of a ``wtb_project.yaml`` (``wtb_core.project_yaml``).
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from wtb_core.config_errors import (
    ENV_PREFIX,
    InvalidSettingError,
    invalid_settings,
    not_utf8,
    unparsable_setting,
)
from wtb_core.install_hints import install_command

DEFAULT_DATA_DIR = Path(".wtb")
POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


def config_file_path() -> Path:
    """The TOML file the stack is read from: ``$WTB_CONFIG`` or ``./wtb.toml``."""
    return Path(os.environ.get("WTB_CONFIG", "wtb.toml"))


def directory_problem(path: Path) -> str | None:
    """Why ``path`` cannot be (or be made) a directory — a file is in its way — else None."""
    for candidate in (path, *path.parents):
        if candidate.is_dir():
            return None
        if candidate.exists():
            if candidate == path:
                return f"{path} is a file, not a directory"
            return f"{path} cannot be a directory: {candidate} is a file"
    return None


def _port_parses(url: str) -> bool:
    try:
        urlsplit(url).port  # noqa: B018 -- a port that is not a number raises
    except ValueError:
        return False
    return True


def check_database_url(url: str | None) -> str | None:
    """``url`` if WTB can open it (SQLite, or PostgreSQL with its plugin); ``ValueError``
    saying what is allowed otherwise. An empty URL is no URL."""
    if not url:
        return None
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep:
        supported = False
    elif scheme == "sqlite":
        supported = not rest or rest.startswith("/")  # sqlite:// (memory) or sqlite:///path
    else:
        supported = scheme in POSTGRES_SCHEMES and _port_parses(url)
    if not supported:
        postgres = install_command("checkpoint_store", "postgres")
        raise ValueError(
            "only SQLite and PostgreSQL databases are supported, as sqlite:///path/to/wtb.sqlite "
            f"or postgresql://user@host:5432/dbname ({postgres}); without a URL the metadata "
            "is the SQLite file in data_dir"
        )
    return url


class StackConfig(BaseSettings):
    """Which implementation fills each port, and where data lives."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", validate_default=True)

    checkpoint_store: str = Field(
        "sqlite", description="memory | sqlite | a plugin's, e.g. postgres"
    )
    database_url: str | None = Field(
        None,
        description="Metadata database URL; None = SQLite file in data_dir. "
        "With checkpoint_store=postgres it is also where checkpoints live.",
    )
    batch_runner: str = Field(
        "threadpool", description="sequential | threadpool | a plugin's, e.g. ray"
    )
    file_tracker: str = Field(
        "none",
        description="none | a plugin's, e.g. cas. Left unset, the stack uses the only file "
        "tracker installed besides none (wtb_core.sdk.stack.choose_file_tracker); set, even "
        "to none, it is used as given",
    )
    environment_provider: str = Field("inprocess", description="inprocess | uv | ray")
    data_dir: Path = Field(DEFAULT_DATA_DIR, description="Embedded databases and files")
    ray_address: str | None = Field(None, description="Ray cluster address of the ray plugin")
    pool_size: int = Field(10, ge=1, description="Connection pool size of server databases")
    pool_timeout: float = Field(
        30.0, gt=0, description="Seconds to wait for a free pooled connection before failing"
    )
    workspace_roots: list[Path] = Field(
        default_factory=list,
        description="Directories, besides the bench's workspace and data dir, that stored "
        "executions' workspaces may lie in (restoring tracked files writes only there)",
    )
    serde_allowlist: list[str] = Field(
        default_factory=list,
        description="Extra types ('module:Name') stored state may contain, beyond LangGraph's "
        "safe types and the types registered projects' state schemas name",
    )
    metrics: bool = Field(
        True,
        description="Count executions, nodes, checkpoints and batch cells in Prometheus "
        "metrics (wtb_core.telemetry; GET /metrics, wtb metrics serve)",
    )
    tracing: bool = Field(
        True,
        description="Open OpenTelemetry spans per execution, node and batch; they are no-ops "
        "until an OpenTelemetry SDK is configured",
    )

    claim_renewal_interval: float = Field(
        30.0,
        gt=0,
        description="Seconds between renewals of the claim a process holds on the "
        "executions it runs (their heartbeat, how another host tells a live run from a dead one)",
    )
    claim_timeout: float = Field(
        120.0,
        gt=0,
        description="Seconds after which a running execution of another host whose claim was "
        "not renewed counts as failed (its process is gone); at least twice "
        "claim_renewal_interval",
    )

    @field_validator("claim_timeout")
    @classmethod
    def _timeout_outlasts_renewals(cls, value: float, info: ValidationInfo) -> float:
        interval = info.data.get("claim_renewal_interval")
        if interval is not None and value < 2 * interval:
            raise ValueError(
                f"must be at least twice claim_renewal_interval ({interval:g} s), or one late "
                "renewal fails a live run"
            )
        return value

    @field_validator("data_dir")
    @classmethod
    def _data_dir_can_be_a_directory(cls, value: Path) -> Path:
        problem = directory_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("database_url")
    @classmethod
    def _database_is_supported(cls, value: str | None) -> str | None:
        return check_database_url(value)

    if not TYPE_CHECKING:  # type checkers keep the signature pydantic derives from the fields

        def __init__(self, **values: Any) -> None:
            try:
                super().__init__(**values)
            except ValidationError as exc:
                fields = list(StackConfig.model_fields)
                message = invalid_settings(exc, values, fields, config_file_path())
                raise InvalidSettingError(message) from None
            except SettingsError as exc:
                raise InvalidSettingError(unparsable_setting(exc)) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence (the README's "Configuration"): arguments, then wtb.toml, then WTB_* variables.
        toml = TomlTable(settings_cls, toml_file=config_file_path())
        return (init_settings, toml, env_settings)

    def metadata_url(self) -> str:
        """The SQLAlchemy URL of the metadata database."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'wtb.sqlite').resolve()}"


TOML_TABLES = ("serve",)
"""Tables of ``wtb.toml`` that hold another component's settings (``[serve]``: the server's
``ServeSettings``); the top level is ``StackConfig``'s."""


class TomlTable(TomlConfigSettingsSource):
    """``wtb.toml``'s top level (``table=None``) or one of its ``TOML_TABLES``; a file that
    cannot be read or parsed is an ``InvalidSettingError``."""

    def __init__(
        self, settings_cls: type[BaseSettings], toml_file: Path | None, table: str | None = None
    ) -> None:
        self._table = table  # read by _read_file, which the base class calls from __init__
        super().__init__(settings_cls, toml_file=toml_file)

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        data = self._read_toml(file_path)
        if self._table is None:
            return {key: value for key, value in data.items() if key not in TOML_TABLES}
        section = data.get(self._table, {})
        if not isinstance(section, dict):
            raise InvalidSettingError(
                f"{file_path}: [{self._table}] must be a table of settings, not "
                f"{type(section).__name__}"
            )
        return section

    def _read_toml(self, file_path: Any) -> dict[str, Any]:
        try:
            return super()._read_file(file_path)
        except tomllib.TOMLDecodeError as exc:
            problem = f"is not valid TOML: {exc}; fix the file"
        except UnicodeDecodeError as exc:
            problem = f"is {not_utf8(exc)}; save it as UTF-8"
        except OSError as exc:
            problem = f"cannot be read ({exc.strerror or exc})"
        raise InvalidSettingError(
            f"{file_path} {problem}, or name another settings file with WTB_CONFIG"
        ) from None


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

    def tracked_roots(self, workspace: str | Path) -> list[str]:
        """``tracked_paths`` as workspace-relative POSIX paths (``""`` is the whole
        workspace), sorted, without roots nested in others: ``"./out/"`` is ``"out"``, and
        an absolute path inside ``workspace`` is its path relative to it.

        This is the one rule for what a tracked path means. It lives here, beside the
        field it reads, rather than on the ``FileTracker`` port: every tracker then reads
        ``tracked_paths`` alike, and the kernel checks a project when it registers (against
        the bench's workspace) without asking its tracker. Trackers (wtb-filetrack) apply
        it to the execution's workspace at every snapshot and restore, so a per-run
        workspace is checked by the first snapshot, when the run starts.

        Raises ``ConfigurationError`` naming the path and the workspace when a path leaves
        it (``"../x"``, ``"/etc"``).
        """
        import posixpath

        from wtb_core.errors import ConfigurationError

        base = os.path.abspath(workspace)

        def relative(path: str) -> str | None:
            """``path`` (absolute) relative to the workspace, also when one of them is
            spelt through a symbolic link (the path's last part is never followed)."""
            norm = posixpath.normpath(path)
            parent, name = posixpath.split(norm)
            aliased = posixpath.join(os.path.realpath(parent), name)
            for candidate, top in ((norm, base), (aliased, os.path.realpath(base))):
                rel = posixpath.relpath(candidate, top)
                if rel != ".." and not rel.startswith("../"):
                    return rel
            return None

        roots: set[str] = set()
        for raw in self.tracked_paths:
            text = raw.replace("\\", "/")
            if not text.strip():
                roots.add("")
                continue
            rel = relative(text) if posixpath.isabs(text) else posixpath.normpath(text)
            if rel is None or rel == ".." or rel.startswith("../"):
                raise ConfigurationError(
                    f"tracked path {raw!r} leaves the workspace {base}: tracked paths are "
                    "relative to the workspace, such as 'out/' or '.' for all of it (an "
                    "absolute path must lie inside it). Move the files into the workspace, "
                    "or run in a workspace that holds them (WTBTestBench(workspace=...) or "
                    "bench.run(..., workspace=...))"
                )
            roots.add("" if rel == "." else rel)
        return sorted(
            r for r in roots if not any(o == "" or r.startswith(o + "/") for o in roots - {r})
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

    ``batch_executor`` names the batch runner of the project's batches: any registered name
    (``sequential``, ``threadpool``, a plugin's such as ``ray``), checked when a batch starts
    (an uninstalled one fails saying what to install). ``None`` (the default)
    defers to the stack's ``batch_runner``, so a project runs unchanged on a machine without
    Ray.
    """

    model_config = ConfigDict(extra="forbid")

    batch_executor: str | None = Field(None, min_length=1)
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
