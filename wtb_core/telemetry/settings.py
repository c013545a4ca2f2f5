"""The process's telemetry switches (``StackConfig.metrics`` / ``StackConfig.tracing``).

Prometheus metrics live in one registry per process, so the switches are per process too:
every bench applies its configuration when it is built (``configure``); the last bench built
decides. Both default to on; tracing stays a no-op until an OpenTelemetry SDK is configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wtb_core.config import StackConfig


@dataclass
class Switches:
    metrics: bool = True
    tracing: bool = True


SWITCHES = Switches()


def configure(config: StackConfig) -> None:
    """Apply ``config.metrics`` and ``config.tracing`` to this process."""
    SWITCHES.metrics = config.metrics
    SWITCHES.tracing = config.tracing
