"""Builtin plugins, registered through the same ``pm.register`` path as installed ones."""

from wtb_core.builtins import checkpoint_stores, environments, file_trackers

MODULES = (checkpoint_stores, environments, file_trackers)
