"""Every hook WTB calls. Each docstring is the contract a plugin implements against.

Two kinds of hook:

* **pick one** — ``wtb_register_*(register)``: the plugin calls ``register(name, factory)``
  for each implementation it provides. The stack picks one by name from configuration
  (evaluators are picked by name per batch). A name registered by two plugins is an error
  naming both.
* **broadcast** — ``wtb_on_event``, ``wtb_register_commands``, ``wtb_register_routes``:
  every plugin that implements the hook is called.

Plugins import the marker as ``from wtb_core import hookimpl``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from wtb_core.domain.events import Event

PROJECT_NAME = "wtb"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

Register = Callable[[str, Any], None]


@hookspec
def wtb_register_checkpoint_stores(register: Register) -> None:
    """Register checkpoint stores: ``register(name, factory)``.

    ``factory(config: StackConfig) -> CheckpointStore`` (see ``wtb_core.ports``) is called
    once per bench whose ``checkpoint_store`` is ``name``. The returned store owns a
    LangGraph ``BaseCheckpointSaver`` and can copy a thread's lineage for forks. Return
    value of the hook is ignored; every implementation is called.
    """


@hookspec
def wtb_register_batch_runners(register: Register) -> None:
    """Register batch runners: ``register(name, factory)``.

    ``factory(config: StackConfig) -> BatchRunner``; the runner executes batch cells and
    yields rows as cells finish (see ``wtb_core.ports.BatchRunner``). Only the driver writes
    the metadata store. Every implementation is called.
    """


@hookspec
def wtb_register_environment_providers(register: Register) -> None:
    """Register environment providers: ``register(name, factory)``.

    ``factory(config: StackConfig) -> EnvironmentProvider``; the provider decides how a node
    runs for a resolved ``EnvSpec`` (in process, in a uv venv, in a Ray runtime env).
    Every implementation is called.
    """


@hookspec
def wtb_register_file_trackers(register: Register) -> None:
    """Register file trackers: ``register(name, factory)``.

    ``factory(config: StackConfig, metadata: MetadataStore) -> FileTracker``; the tracker
    snapshots tracked files at checkpoints and restores them on rollback and fork.
    Every implementation is called.
    """


@hookspec
def wtb_register_evaluators(register: Register) -> None:
    """Register evaluators: ``register(name, factory)``.

    ``factory() -> Callable[[TestCase, ExecutionResult], float | bool | dict[str, float]]``;
    a batch names the evaluators it wants. Every implementation is called.
    """


@hookspec
def wtb_on_event(event: Event) -> None:
    """Hear every domain event (node started/completed/failed, checkpoint created,
    execution paused/resumed/rolled back/forked/stopped …) as it happens.

    Called synchronously on the thread that runs the execution: keep it fast, hand slow
    work to a queue. An exception raised here is logged and does not stop the execution.
    """


@hookspec
def wtb_register_commands(cli: Any) -> None:
    """Add commands to the ``wtb`` command line: ``cli`` is the root ``typer.Typer``."""


@hookspec
def wtb_register_routes(app: Any) -> None:
    """Add routes to the REST server: ``app`` is the ``fastapi.FastAPI`` application."""
