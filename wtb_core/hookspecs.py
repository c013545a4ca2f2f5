"""Every hook WTB calls. Each docstring is the contract a plugin implements against.

Two kinds of hook:

* **pick one** — ``wtb_register_*(register)``: the plugin calls ``register(name, factory)``
  for each implementation it provides. The stack picks one by name from configuration
  (evaluators are picked by name per batch). A name registered by two plugins is an error
  naming both. These hooks take plain ``@hookimpl``s only: a ``wrapper=True`` or
  ``hookwrapper=True`` implementation is refused.
* **broadcast** — ``wtb_on_event``, ``wtb_register_commands``, ``wtb_register_routes``:
  every plugin that implements the hook is called.

Implementations are called in pluggy's order: ``tryfirst`` first, ``trylast`` last, otherwise
the plugin registered last first. Plugins import the marker and each kind's typed
``register`` from ``wtb_core.plugin``: ``from wtb_core.plugin import CheckpointStoreRegister,
hookimpl``.

Adding a port kind touches, in order:

1. ``wtb_core/ports/<kind>.py`` — the ``Protocol`` and its factory type, exported by
   ``wtb_core.ports``;
2. this module — its ``<Kind>Register`` and the ``wtb_register_<kinds>`` hook with its
   contract (``tests/test_hookspecs.py`` counts the hooks and wants a test implementing it);
3. ``wtb_core/registry.py`` — its ``Kind`` in ``KINDS`` and the typed accessor
   ``registry.<kind>(name, ...)``;
4. ``wtb_core/plugin.py`` — the new ``Register``, port and factory for plugin authors;
5. ``wtb_core/builtins/`` — the kernel's own implementation, if it has one, in
   ``builtins.MODULES``;
6. ``wtb_core/config.py`` (the ``StackConfig`` field naming the choice) and
   ``wtb_core/sdk/stack.py`` (which builds it for a bench) — or the code choosing one per
   use, as a batch chooses its evaluators;
7. ``wtb_core/install_hints.py`` — if a plugin provides a well-known name;
8. README.md's "Writing a plugin".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from fastapi import FastAPI  # type: ignore[import-not-found, unused-ignore]
    from typer import Typer

    from wtb_core.domain.events import Event
    from wtb_core.ports import (
        BatchRunnerFactory,
        CheckpointStoreFactory,
        EnvironmentProviderFactory,
        EvaluatorFactory,
        FileTrackerFactory,
    )

PROJECT_NAME = "wtb"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

CheckpointStoreRegister = Callable[[str, "CheckpointStoreFactory"], None]
BatchRunnerRegister = Callable[[str, "BatchRunnerFactory"], None]
EnvironmentProviderRegister = Callable[[str, "EnvironmentProviderFactory"], None]
FileTrackerRegister = Callable[[str, "FileTrackerFactory"], None]
EvaluatorRegister = Callable[[str, "EvaluatorFactory"], None]


@hookspec
def wtb_register_checkpoint_stores(register: CheckpointStoreRegister) -> None:
    """Register checkpoint stores: ``register(name, factory)``.

    ``factory(config: StackConfig) -> CheckpointStore`` (see ``wtb_core.ports``) is called
    once per bench whose ``checkpoint_store`` is ``name``. The returned store owns a
    LangGraph ``BaseCheckpointSaver`` and can copy a thread's lineage for forks. Return
    value of the hook is ignored; every implementation is called.
    """


@hookspec
def wtb_register_batch_runners(register: BatchRunnerRegister) -> None:
    """Register batch runners: ``register(name, factory)``.

    ``factory(config: StackConfig) -> BatchRunner``; the runner executes batch cells and
    yields rows as cells finish (see ``wtb_core.ports.BatchRunner``). Only the driver writes
    the metadata store. It is chosen by ``StackConfig.batch_runner``, a project's
    ``ExecutionConfig.batch_executor`` or a batch's ``runner=``. Every implementation is
    called.
    """


@hookspec
def wtb_register_environment_providers(register: EnvironmentProviderRegister) -> None:
    """Register environment providers: ``register(name, factory)``.

    ``factory(config: StackConfig) -> EnvironmentProvider``; the provider decides how a node
    runs for a resolved ``EnvSpec`` (in process, in a uv venv, in a Ray runtime env).
    Every implementation is called.
    """


@hookspec
def wtb_register_file_trackers(register: FileTrackerRegister) -> None:
    """Register file trackers: ``register(name, factory)``.

    ``factory(config: StackConfig, metadata: MetadataStore) -> FileTracker``; the tracker
    snapshots tracked files at checkpoints and restores them on rollback and fork.
    Every implementation is called.
    """


@hookspec
def wtb_register_evaluators(register: EvaluatorRegister) -> None:
    """Register evaluators: ``register(name, factory)``.

    ``factory() -> Callable[[TestCase, ExecutionResult], float | bool | dict[str, float]]``;
    a batch names the evaluators it wants. Every implementation is called.
    """


@hookspec
def wtb_on_event(event: Event) -> None:
    """Hear every domain event (node started/completed/failed, checkpoint created,
    execution paused/resumed/rolled back/forked/stopped …) as it happens.

    Called synchronously on the thread that runs the execution: keep it fast, hand slow
    work to a queue. An exception raised here is logged and does not stop the execution,
    nor keep the event from the other plugins. A ``wrapper=True`` implementation wraps each
    other plugin's call.
    """


@hookspec
def wtb_register_commands(cli: Typer) -> None:
    """Add commands to the ``wtb`` command line: ``cli`` is the root ``typer.Typer``
    (``cli.command(...)``, ``cli.add_typer(...)``); ``wtb_core.plugin`` has the helpers the
    kernel's own commands use (``session``, ``CommandLineError``, ``JsonFlag`` …)."""


@hookspec
def wtb_register_routes(app: FastAPI) -> None:
    """Add routes to the REST server: ``app`` is the ``fastapi.FastAPI`` application."""
