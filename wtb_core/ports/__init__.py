"""Ports: the typed interfaces the engine talks to. Adapters (builtins and plugins)
implement them; the engine never imports an adapter directly. Each kind also has the type of
the factory a plugin registers for it (``wtb_core.hookspecs``)."""

from wtb_core.ports.batch_runner import BatchJob, BatchRunner, BatchRunnerFactory
from wtb_core.ports.checkpoint_store import (
    CheckpointStore,
    CheckpointStoreFactory,
    ThreadInventory,
)
from wtb_core.ports.environment import (
    EnvironmentProvider,
    EnvironmentProviderFactory,
    NodeCallable,
)
from wtb_core.ports.evaluator import Evaluator, EvaluatorFactory
from wtb_core.ports.file_tracker import (
    FileStorageCheck,
    FileTracker,
    FileTrackerFactory,
    StoredFileProblem,
    TrackedExecution,
)

__all__ = [
    "BatchJob",
    "BatchRunner",
    "BatchRunnerFactory",
    "CheckpointStore",
    "CheckpointStoreFactory",
    "EnvironmentProvider",
    "EnvironmentProviderFactory",
    "Evaluator",
    "EvaluatorFactory",
    "FileStorageCheck",
    "FileTracker",
    "FileTrackerFactory",
    "NodeCallable",
    "StoredFileProblem",
    "ThreadInventory",
    "TrackedExecution",
]
