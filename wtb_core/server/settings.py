"""``ServeSettings``: how ``wtb serve`` listens and whom it lets in.

Read like ``StackConfig``: arguments (the command's options), then the ``[serve]`` table
of ``wtb.toml``, then ``WTB_SERVE_*`` variables; the token also from ``WTB_API_TOKEN``.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from pydantic import AliasChoices, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from wtb_core.config import TomlTable, config_file_path
from wtb_core.config_errors import settings_error

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the server reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ServeSettings(BaseSettings):
    """The server's own settings (the stack is the usual ``StackConfig``)."""

    model_config = SettingsConfigDict(env_prefix="WTB_SERVE_", extra="forbid")

    host: str = Field("127.0.0.1", description="Address to bind; off loopback needs a token")
    port: int = Field(8765, ge=0, le=65535, description="TCP port (0: any free port)")
    token: str | None = Field(
        None,
        min_length=16,
        validation_alias=AliasChoices("token", "WTB_API_TOKEN", "WTB_SERVE_TOKEN"),
        description="Bearer token every request and socket must carry (at least 16 "
        "characters); required off loopback",
    )
    projects: list[str] = Field(
        default_factory=list,
        description="Projects to serve: wtb_project.yaml files or module:attribute "
        "references to a WorkflowProject or a graph factory",
    )
    workers: int = Field(
        4, ge=1, le=256, description="Executions and batches the server drives at once"
    )
    queue: int = Field(
        64,
        ge=0,
        le=10_000,
        description="Starts that may wait for a busy worker; beyond them a start gets 503",
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API (CORS and the WebSocket Origin "
        "check), e.g. https://smith.langchain.com for LangGraph Studio",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host header values accepted besides the loopback names and the bound "
        "address (DNS-rebinding protection)",
    )
    allow_project_registration: bool = Field(
        False,
        description="Allow POST /api/v1/projects, which imports code named in the request; "
        "needs a token",
    )
    shutdown_grace: float = Field(
        30.0,
        gt=0,
        description="Seconds running executions get to reach a node boundary "
        "and pause when the server stops",
    )
    outbox_interval: float = Field(
        60.0,
        gt=0,
        description="Seconds between runs of the outbox processor, which finishes or "
        "compensates operations a crash cut off between two stores",
    )

    if not TYPE_CHECKING:  # settings errors become ConfigurationErrors

        def __init__(self, **values: Any) -> None:
            try:
                super().__init__(**values)
            except ValidationError as exc:
                raise settings_error(exc, "server", "wtb serve") from None

    @model_validator(mode="after")
    def _token_off_loopback(self) -> ServeSettings:
        if self.allow_project_registration and not self.token:
            raise ValueError(
                "allow_project_registration imports code a request names: it needs a token "
                "(--token or WTB_API_TOKEN)"
            )
        if not is_loopback(self.host) and not self.token:
            raise ValueError(
                f"binding to {self.host} exposes the bench beyond this machine: give a token "
                "(--token or WTB_API_TOKEN) or bind to 127.0.0.1"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlTable(settings_cls, toml_file=config_file_path(), table="serve")
        return (init_settings, toml, env_settings)

    def accepted_hosts(self) -> set[str]:
        """Host header names (without port) a request may carry."""
        return {*LOOPBACK_NAMES, "[::1]", self.host, *self.allowed_hosts}
