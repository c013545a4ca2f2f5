"""Ports: the typed interfaces the engine talks to. Adapters (builtins and plugins)
implement them; the engine never imports an adapter directly."""

from wtb_core.ports.batch_runner import BatchJob, BatchRunner
from wtb_core.ports.checkpoint_store import CheckpointStore, CheckpointStoreFactory
from wtb_core.ports.environment import EnvironmentProvider, NodeCallable
from wtb_core.ports.file_tracker import FileTracker, TrackedExecution

__all__ = [
    "BatchJob",
    "BatchRunner",
    "CheckpointStore",
    "CheckpointStoreFactory",
    "EnvironmentProvider",
    "FileTracker",
    "NodeCallable",
    "TrackedExecution",
]
