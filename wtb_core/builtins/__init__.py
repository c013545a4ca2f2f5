"""Builtin plugins, registered through the same ``pm.register`` path as installed ones."""

from wtb_core.builtins import (
    batch_runners,
    checkpoint_stores,
    environments,
    evaluators,
    file_trackers,
)
from wtb_core.telemetry import plugin as telemetry

MODULES = (checkpoint_stores, environments, file_trackers, batch_runners, evaluators, telemetry)
