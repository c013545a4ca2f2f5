"""WTB — the Workflow Test Bench for LangGraph (kernel: ``wtb-core``).

Run a LangGraph workflow with a durable checkpoint at every node boundary, travel back in
time (rollback, fork, resume, edit state), vary nodes or whole graphs, and compare the
variants in batch tests.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("wtb-core")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

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
from wtb_core.errors import (
    CheckpointNotFoundError,
    ConfigurationError,
    ExecutionNotFoundError,
    InvalidStateError,
    PluginError,
    PluginNotFoundError,
    ProjectError,
    ProjectNotFoundError,
    StateSerializationError,
    StorageError,
    WTBError,
)
from wtb_core.hookspecs import hookimpl
from wtb_core.project import WorkflowProject
from wtb_core.sdk.bench import WTBTestBench
from wtb_core.workspace import current_workspace

__all__ = [
    "AuditEntry",
    "Checkpoint",
    "CheckpointNotFoundError",
    "ConfigurationError",
    "Event",
    "EventType",
    "ExecutionNotFoundError",
    "ExecutionResult",
    "ExecutionStatus",
    "FileSnapshot",
    "InvalidStateError",
    "PendingInterrupt",
    "PluginError",
    "PluginNotFoundError",
    "ProjectError",
    "ProjectNotFoundError",
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
