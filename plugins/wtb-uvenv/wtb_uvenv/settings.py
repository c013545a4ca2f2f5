"""wtb-uvenv's settings, read from ``WTB_UVENV_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from wtb_core import ConfigurationError

ENV_PREFIX = "WTB_UVENV_"


class UvEnvSettings(BaseSettings):
    """Where environments and uv's cache live, and how many workers each environment gets.

    ``env_root`` and ``cache_dir`` default to ``envs/`` and ``uv-cache/`` under the stack's
    data dir: one file system, so uv hard-links cached files into environments instead of
    copying them.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    env_root: Path | None = Field(None, description="Environments (default: <data_dir>/envs)")
    cache_dir: Path | None = Field(None, description="uv's cache (default: <data_dir>/uv-cache)")
    workers_per_env: int = Field(
        1, ge=1, description="Worker processes per environment: calls in flight at once"
    )
    index_url: str | None = Field(None, description="Package index (default: uv's, PyPI)")
    extra_index_urls: list[str] = Field(default_factory=list, description="Further indexes")
    compile_bytecode: bool = Field(True, description="Compile .pyc files when building")
    start_timeout: float = Field(60.0, gt=0, description="Seconds a worker may take to start")

    def located(self, data_dir: Path) -> UvEnvSettings:
        """These settings with ``env_root`` and ``cache_dir`` made absolute."""
        root = (self.env_root or Path(data_dir) / "envs").expanduser().resolve()
        cache = (self.cache_dir or Path(data_dir) / "uv-cache").expanduser().resolve()
        for name, path in (("env_root", root), ("cache_dir", cache)):
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigurationError(
                    f"{ENV_PREFIX}{name.upper()}={path} cannot be created ({exc.strerror}); "
                    "point it at a writable directory"
                ) from None
        return self.model_copy(update={"env_root": root, "cache_dir": cache})

    @property
    def root(self) -> Path:
        """``env_root`` (after ``located``)."""
        assert self.env_root is not None, "call located() first"
        return self.env_root

    @property
    def cache(self) -> Path:
        """``cache_dir`` (after ``located``)."""
        assert self.cache_dir is not None, "call located() first"
        return self.cache_dir

    def index_args(self) -> list[str]:
        """uv's options for the configured indexes."""
        args = ["--index-url", self.index_url] if self.index_url else []
        for url in self.extra_index_urls:
            args += ["--extra-index-url", url]
        return args
