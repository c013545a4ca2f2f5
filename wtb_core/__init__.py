"""WTB — the Workflow Test Bench for LangGraph (kernel: ``wtb-core``).

Run a LangGraph workflow with a durable checkpoint at every node boundary, travel back in
time (rollback, fork, resume, edit state), vary nodes or whole graphs, and compare the
variants in batch tests.
"""

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("wtb-core")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

from wtb_core.errors import (
    BatchNotFoundError,
    CheckpointNotFoundError,
    ConfigurationError,
    ExecutionNotFoundError,
    InvalidInputError,
    InvalidStateError,
    PluginError,
    PluginNotFoundError,
    ProjectError,
    ProjectNotFoundError,
    RecordingMissingError,
    RecordingNotFoundError,
    StateSerializationError,
    StorageError,
    WTBError,
)

# Public names, imported on first use: `import wtb_core.errors` (the CLI's start-up, a
# plugin's hookimpl) must not pay for importing LangGraph and SQLAlchemy.
_LAZY = {
    "StackConfig": "wtb_core.config",
    "Event": "wtb_core.domain.events",
    "EventType": "wtb_core.domain.events",
    "AuditEntry": "wtb_core.domain.models",
    "Checkpoint": "wtb_core.domain.models",
    "ExecutionResult": "wtb_core.domain.models",
    "ExecutionStatus": "wtb_core.domain.models",
    "FileSnapshot": "wtb_core.domain.models",
    "PendingInterrupt": "wtb_core.domain.models",
    "Severity": "wtb_core.domain.models",
    "TestCase": "wtb_core.domain.models",
    "hookimpl": "wtb_core.hookspecs",
    "WorkflowProject": "wtb_core.project",
    "WTBTestBench": "wtb_core.sdk.bench",
    "current_workspace": "wtb_core.workspace",
}

if TYPE_CHECKING:  # the same names, for type checkers (kept in step with _LAZY)
    from wtb_core.config import StackConfig
    from wtb_core.domain.events import Event, EventType
    from wtb_core.domain.models import (
        AuditEntry,
        Checkpoint,
        ExecutionResult,
        ExecutionStatus,
        FileSnapshot,
        PendingInterrupt,
        Severity,
        TestCase,
    )
    from wtb_core.hookspecs import hookimpl
    from wtb_core.project import WorkflowProject
    from wtb_core.sdk.bench import WTBTestBench
    from wtb_core.workspace import current_workspace


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'wtb_core' has no attribute {name!r}")


__all__ = [
    "AuditEntry",
    "BatchNotFoundError",
    "Checkpoint",
    "CheckpointNotFoundError",
    "ConfigurationError",
    "Event",
    "EventType",
    "ExecutionNotFoundError",
    "ExecutionResult",
    "ExecutionStatus",
    "FileSnapshot",
    "InvalidInputError",
    "InvalidStateError",
    "PendingInterrupt",
    "PluginError",
    "PluginNotFoundError",
    "ProjectError",
    "ProjectNotFoundError",
    "RecordingMissingError",
    "RecordingNotFoundError",
    "Severity",
    "StackConfig",
    "StateSerializationError",
    "StorageError",
    "TestCase",
    "WTBError",
    "WTBTestBench",
    "WorkflowProject",
    "__version__",
    "current_workspace",
    "hookimpl",
]
