"""The public surface for plugin authors: what a plugin may use of the kernel.

A plugin's package imports only this module and ``wtb_core`` itself (``WTBTestBench``,
``WorkflowProject``, ``StackConfig``, the models — ``Event``, ``ExecutionStatus``,
``FileSnapshot``, ``TestCase`` … — and the errors); ``tests/test_architecture.py`` holds
every plugin in ``plugins/`` to it. The names below are what the kernel keeps stable for
plugins; everything else in ``wtb_core`` may move. Each is imported on first use, so a
plugin module that imports them at start-up does not load LangGraph or SQLAlchemy.

**Hooks** (contracts in ``wtb_core.hookspecs``): ``hookimpl``, and the typed ``register``
each pick-one hook receives — ``CheckpointStoreRegister``, ``BatchRunnerRegister``,
``EnvironmentProviderRegister``, ``FileTrackerRegister``, ``EvaluatorRegister``::

    from wtb_core.plugin import CheckpointStoreRegister, hookimpl

    @hookimpl
    def wtb_register_checkpoint_stores(register: CheckpointStoreRegister) -> None:
        register(RedisCheckpointStore.name, RedisCheckpointStore)

**Ports** — what an implementation provides — and the factory type registered for each:
``CheckpointStore`` / ``CheckpointStoreFactory``; ``BatchRunner`` / ``BatchRunnerFactory``,
handed a ``BatchJob``; ``EnvironmentProvider`` / ``EnvironmentProviderFactory``, wrapping a
``NodeCallable``; ``FileTracker`` / ``FileTrackerFactory``, working for a
``TrackedExecution`` and checking its stored files for ``wtb integrity``
(``FileStorageCheck``, ``StoredFileProblem``); ``Evaluator`` / ``EvaluatorFactory``;
``ThreadInventory``, what a checkpoint store may add so the integrity check lists its
threads with one query.

**Settings and batch models**: ``FileTrackingConfig``, ``EnvSpec``, ``NodeResourceConfig``,
``RayConfig``; ``Cell`` (one unit of batch work), ``BatchRow`` (its result) and
``DetachedResult`` (a row with its execution, from a worker), ``CellStarted`` (a worker began
a cell).

**Running cells elsewhere** (distributed runners): ``DetachedExecutor`` runs a cell as a
checkpointed execution without a metadata store; ``run_bounded`` runs at most N at a
time; ``cell_fields`` gives a row's fields from its cell; ``NodeWrapper`` is how a graph's
node callables get wrapped, ``resolve_env`` the environment a node runs in.

**Storage**: ``MetadataStore`` (a file tracker's factory receives it; its file-commit
methods store snapshots) and the chunk format of file commits — ``Entry``, ``Manifest``,
``Chunk``, ``entry_json``, ``is_end``, ``run_chunks``, ``split`` (a tracker keeping its own
chunks must produce ``split``'s); ``strict_serializer`` / ``StrictSerializer`` /
``BoxedFloat``, LangGraph's serializer as WTB reads stored data; ``utcnow``, the
timestamps the metadata store keeps; ``cut(name)``, a cut point between two writes of a
multi-store operation (``wtb_core.integrity.cuts``: a no-op unless a fault-injection
test installs an injector).

**Command line** (``wtb_register_commands``): ``session(ctx)`` — the invocation's
``Session``, with its bench (opened on first use) and ``show(value, human)`` honouring
``--json`` — ``CommandLineError`` for a bad argument, the ``JsonFlag`` and ``ExecArg``
parameter types, and ``short_ids`` for printing checkpoint ids.

**Serving the bench** (a server plugin such as wtb-grpc, next to ``wtb serve``): ``EventHub``,
the stored event log tailed for stream subscribers (resume by ``seq``); ``JobPool``, the
bounded pool driving runs and batches with its SIGTERM ``drain``, and ``ServerBusyError``;
``error_kind`` / ``ErrorKind``, the one table of what a ``WTBError`` means to a client;
``settings_error``, a settings model's ``ValidationError`` as a ``ConfigurationError``;
``project_from_ref``, how ``wtb serve --project`` loads a project; ``is_loopback``; and the
batch models a client rebuilds, ``BatchTestResult``, ``BatchStatus``, ``Comparison``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wtb_core.batch.bounded import run_bounded
    from wtb_core.batch.comparison import Comparison
    from wtb_core.batch.detached import DetachedExecutor
    from wtb_core.batch.models import BatchRow, BatchStatus, Cell, CellStarted, DetachedResult
    from wtb_core.batch.results import BatchTestResult
    from wtb_core.batch.scoring import cell_fields
    from wtb_core.cli.common import (
        CommandLineError,
        ExecArg,
        JsonFlag,
        Session,
        project_from_ref,
        session,
    )
    from wtb_core.cli.render import short_ids
    from wtb_core.config import (
        EnvSpec,
        FileTrackingConfig,
        NodeResourceConfig,
        RayConfig,
    )
    from wtb_core.config_errors import settings_error
    from wtb_core.engine.environments import resolve_env
    from wtb_core.engine.graph_cache import NodeWrapper
    from wtb_core.hookspecs import (
        BatchRunnerRegister,
        CheckpointStoreRegister,
        EnvironmentProviderRegister,
        EvaluatorRegister,
        FileTrackerRegister,
        hookimpl,
    )
    from wtb_core.integrity.cuts import cut
    from wtb_core.ports import (
        BatchJob,
        BatchRunner,
        BatchRunnerFactory,
        CheckpointStore,
        CheckpointStoreFactory,
        EnvironmentProvider,
        EnvironmentProviderFactory,
        Evaluator,
        EvaluatorFactory,
        FileStorageCheck,
        FileTracker,
        FileTrackerFactory,
        NodeCallable,
        StoredFileProblem,
        ThreadInventory,
        TrackedExecution,
    )
    from wtb_core.serde import BoxedFloat, StrictSerializer, strict_serializer
    from wtb_core.server.error_kinds import ErrorKind, error_kind
    from wtb_core.server.events import EventHub
    from wtb_core.server.jobs import JobPool, ServerBusyError
    from wtb_core.server.settings import is_loopback
    from wtb_core.storage.database import utcnow
    from wtb_core.storage.file_commits import (
        Chunk,
        Entry,
        Manifest,
        entry_json,
        is_end,
        run_chunks,
        split,
    )
    from wtb_core.storage.metadata import MetadataStore

_MODULES: dict[str, tuple[str, ...]] = {
    "wtb_core.hookspecs": (
        "hookimpl",
        "CheckpointStoreRegister",
        "BatchRunnerRegister",
        "EnvironmentProviderRegister",
        "FileTrackerRegister",
        "EvaluatorRegister",
    ),
    "wtb_core.ports": (
        "CheckpointStore",
        "CheckpointStoreFactory",
        "BatchRunner",
        "BatchRunnerFactory",
        "BatchJob",
        "EnvironmentProvider",
        "EnvironmentProviderFactory",
        "NodeCallable",
        "FileTracker",
        "FileTrackerFactory",
        "FileStorageCheck",
        "StoredFileProblem",
        "ThreadInventory",
        "TrackedExecution",
        "Evaluator",
        "EvaluatorFactory",
    ),
    "wtb_core.config": (
        "FileTrackingConfig",
        "EnvSpec",
        "NodeResourceConfig",
        "RayConfig",
    ),
    "wtb_core.config_errors": ("settings_error",),
    "wtb_core.batch.models": ("Cell", "BatchRow", "BatchStatus", "CellStarted", "DetachedResult"),
    "wtb_core.batch.results": ("BatchTestResult",),
    "wtb_core.batch.comparison": ("Comparison",),
    "wtb_core.batch.detached": ("DetachedExecutor",),
    "wtb_core.batch.bounded": ("run_bounded",),
    "wtb_core.batch.scoring": ("cell_fields",),
    "wtb_core.engine.graph_cache": ("NodeWrapper",),
    "wtb_core.integrity.cuts": ("cut",),
    "wtb_core.engine.environments": ("resolve_env",),
    "wtb_core.storage.metadata": ("MetadataStore",),
    "wtb_core.storage.file_commits": (
        "Entry",
        "Manifest",
        "Chunk",
        "entry_json",
        "is_end",
        "run_chunks",
        "split",
    ),
    "wtb_core.serde": ("strict_serializer", "StrictSerializer", "BoxedFloat"),
    "wtb_core.storage.database": ("utcnow",),
    "wtb_core.cli.common": (
        "CommandLineError",
        "ExecArg",
        "JsonFlag",
        "Session",
        "session",
        "project_from_ref",
    ),
    "wtb_core.server.error_kinds": ("ErrorKind", "error_kind"),
    "wtb_core.server.events": ("EventHub",),
    "wtb_core.server.jobs": ("JobPool", "ServerBusyError"),
    "wtb_core.server.settings": ("is_loopback",),
    "wtb_core.cli.render": ("short_ids",),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        value = getattr(importlib.import_module(_HOME[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(
        f"module 'wtb_core.plugin' has no attribute {name!r}; a plugin uses only the names "
        "listed in its docstring and those of wtb_core"
    )


__all__ = [
    "BatchJob",
    "BatchRow",
    "BatchRunner",
    "BatchRunnerFactory",
    "BatchRunnerRegister",
    "BatchStatus",
    "BatchTestResult",
    "BoxedFloat",
    "Cell",
    "CellStarted",
    "CheckpointStore",
    "CheckpointStoreFactory",
    "CheckpointStoreRegister",
    "Chunk",
    "CommandLineError",
    "Comparison",
    "DetachedExecutor",
    "DetachedResult",
    "Entry",
    "EnvSpec",
    "EnvironmentProvider",
    "EnvironmentProviderFactory",
    "EnvironmentProviderRegister",
    "ErrorKind",
    "Evaluator",
    "EvaluatorFactory",
    "EvaluatorRegister",
    "EventHub",
    "ExecArg",
    "FileStorageCheck",
    "FileTracker",
    "FileTrackerFactory",
    "FileTrackerRegister",
    "FileTrackingConfig",
    "JobPool",
    "JsonFlag",
    "Manifest",
    "MetadataStore",
    "NodeCallable",
    "NodeResourceConfig",
    "NodeWrapper",
    "RayConfig",
    "ServerBusyError",
    "Session",
    "StoredFileProblem",
    "StrictSerializer",
    "ThreadInventory",
    "TrackedExecution",
    "cell_fields",
    "cut",
    "entry_json",
    "error_kind",
    "hookimpl",
    "is_end",
    "is_loopback",
    "project_from_ref",
    "resolve_env",
    "run_bounded",
    "run_chunks",
    "session",
    "settings_error",
    "short_ids",
    "split",
    "strict_serializer",
    "utcnow",
]
