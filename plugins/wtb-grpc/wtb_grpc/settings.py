"""``GrpcSettings``: how ``wtb grpc serve`` listens and whom it lets in."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from wtb_core.plugin import is_loopback, settings_error

DEFAULT_PORT = 50051
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""The largest message either side accepts (gRPC's default is 4 MiB: a long lineage of
large states would not fit)."""


class GrpcSettings(BaseModel):
    """The server's own settings (the stack is the usual ``StackConfig``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", description="Address to bind; off loopback needs a token")
    port: int = Field(DEFAULT_PORT, ge=0, le=65535, description="TCP port (0: any free port)")
    token: str | None = Field(
        None,
        min_length=16,
        description="Bearer token every call must carry (at least 16 characters); "
        "required off loopback",
    )
    tls_cert: Path | None = Field(None, description="PEM certificate chain: serve TLS")
    tls_key: Path | None = Field(None, description="PEM private key of tls_cert")
    workers: int = Field(4, ge=1, le=256, description="Executions and batches driven at once")
    queue: int = Field(
        64, ge=0, le=10_000, description="Starts that may wait for a busy worker (then busy)"
    )
    shutdown_grace: float = Field(
        30.0,
        gt=0,
        description="Seconds running executions get to reach a node boundary and pause "
        "when the server stops",
    )

    if not TYPE_CHECKING:  # settings errors become ConfigurationErrors

        def __init__(self, **values: Any) -> None:
            try:
                super().__init__(**values)
            except ValidationError as exc:
                raise settings_error(exc, "gRPC server", "wtb grpc serve") from None

    @model_validator(mode="after")
    def _checked(self) -> GrpcSettings:
        if not is_loopback(self.host) and not self.token:
            raise ValueError(
                f"binding to {self.host} exposes the bench beyond this machine: give a token "
                "(--token or WTB_API_TOKEN) or bind to 127.0.0.1"
            )
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("TLS needs both --tls-cert and --tls-key")
        for path in (self.tls_cert, self.tls_key):
            if path is not None and not path.is_file():
                raise ValueError(f"{path} is not a file: give a PEM file")
        return self

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"
