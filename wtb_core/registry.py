"""The plugin registry: pluggy underneath, a small typed facade on top.

The stack builds each adapter through the accessor of its kind, never through untyped hook
calls:

* ``registry.checkpoint_store(name, config) -> CheckpointStore``
* ``registry.batch_runner(name, config) -> BatchRunner``
* ``registry.environment_provider(name, config) -> EnvironmentProvider``
* ``registry.file_tracker(name, config, metadata) -> FileTracker``
* ``registry.evaluator(name) -> Evaluator``

``registry.get(kind, name)`` checks a name without building anything: an unknown name is a
``PluginNotFoundError`` listing the available names and, for a well-known one, the package
to install (``wtb_core.install_hints``). ``names(kind)`` lists a kind's names,
``describe()`` what ``wtb plugins`` prints, ``emit(event)`` and ``add_commands(cli)`` call
the broadcast hooks.

Builtins (``wtb_core.builtins``) are registered through exactly the same ``pm.register``
path as installed plugins, which are discovered through the ``wtb`` entry-point group.
Implementations are called in pluggy's order — ``tryfirst`` ones first, ``trylast`` ones
last, otherwise the plugin registered last first — and always through pluggy, so its
hook-call monitoring sees every call. Each plugin's implementation is called on its own
(inside every wrapper of the hook): a registration is attributed to the plugin that made it,
and a ``wtb_on_event`` listener that raises is logged while the others still hear the
event. A ``wtb_register_*`` implementation must be a plain ``@hookimpl``; one marked
``wrapper=True`` or ``hookwrapper=True`` is refused with a ``PluginError`` naming its plugin.

Environment variables:

* ``WTB_LOAD_PLUGINS`` — comma-separated entry-point names to load; set but empty loads none.
* ``WTB_DISABLE_PLUGINS`` — comma-separated entry-point names never to load.
* ``WTB_TRACE_PLUGINS=1`` — log every hook call (the plugins called, the arguments, what
  came back) at DEBUG on the ``wtb_core.registry`` logger, through pluggy's hook-call
  monitoring; without a logging configuration the lines go to stderr.
"""

from __future__ import annotations

import contextlib
import logging
import os
import reprlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

from wtb_core import hookspecs
from wtb_core.errors import PluginError, PluginNotFoundError
from wtb_core.install_hints import install_command

if TYPE_CHECKING:
    from fastapi import FastAPI
    from typer import Typer

    from wtb_core.config import StackConfig
    from wtb_core.domain.events import Event
    from wtb_core.ports import (
        BatchRunner,
        CheckpointStore,
        EnvironmentProvider,
        Evaluator,
        FileTracker,
    )
    from wtb_core.storage.metadata import MetadataStore

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = hookspecs.PROJECT_NAME
TRACE_VARIABLE = "WTB_TRACE_PLUGINS"


@dataclass(frozen=True)
class Kind:
    """One pick-one registry: its hook and how it is named in messages."""

    key: str
    hook: str
    label: str
    config_field: str


KINDS: dict[str, Kind] = {
    k.key: k
    for k in (
        Kind(
            "checkpoint_store",
            "wtb_register_checkpoint_stores",
            "checkpoint store",
            "checkpoint_store",
        ),
        Kind("batch_runner", "wtb_register_batch_runners", "batch runner", "batch_runner"),
        Kind(
            "environment_provider",
            "wtb_register_environment_providers",
            "environment provider",
            "environment_provider",
        ),
        Kind("file_tracker", "wtb_register_file_trackers", "file tracker", "file_tracker"),
        Kind("evaluator", "wtb_register_evaluators", "evaluator", "evaluators"),
    )
}


@dataclass(frozen=True)
class Registration:
    """A named implementation and the plugin that registered it. ``factory`` has its kind's
    type (``wtb_core.ports``: ``CheckpointStoreFactory``, ``BatchRunnerFactory`` …)."""

    kind: str
    name: str
    factory: Any
    plugin: str


@dataclass
class PluginInfo:
    """What ``wtb plugins`` shows for one plugin."""

    name: str
    version: str | None
    origin: str  # builtin | entry point | in-process
    registers: dict[str, list[str]] = field(default_factory=dict)
    hooks: list[str] = field(default_factory=list)


def _names_from_env(variable: str) -> set[str] | None:
    raw = os.environ.get(variable)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _tracing_requested() -> bool:
    return os.environ.get(TRACE_VARIABLE, "").strip().lower() in {"1", "true", "yes", "on"}


def _shown(kwargs: Mapping[str, object]) -> str:
    return ", ".join(f"{name}={reprlib.repr(value)}" for name, value in kwargs.items())


def _direct(impl: pluggy.HookImpl, spec_names: frozenset[str]) -> Callable[..., object]:
    """``impl``'s function, called with the keyword arguments it names (pluggy lets an
    implementation take fewer arguments than its spec)."""
    function, names = impl.function, frozenset(impl.argnames)
    if names == spec_names:
        return function

    def call(**kwargs: object) -> object:
        return function(**{k: v for k, v in kwargs.items() if k in names})

    return call


def trace_hook_calls(pm: pluggy.PluginManager) -> None:
    """Log each hook call of ``pm`` on this module's logger at DEBUG (``WTB_TRACE_PLUGINS``):
    the plugins in call order with the arguments, then the result or the exception."""

    def before(hook: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, object]) -> None:
        plugins = ", ".join(impl.plugin_name for impl in reversed(impls)) or "no plugin"
        log.debug("%s(%s) -> %s", hook, _shown(kwargs), plugins)

    def after(
        outcome: pluggy.Result[object],
        hook: str,
        impls: Sequence[pluggy.HookImpl],
        kwargs: Mapping[str, object],
    ) -> None:
        if outcome.exception is not None:
            log.debug("%s raised %r", hook, outcome.exception)
        else:
            log.debug("%s returned %s", hook, reprlib.repr(outcome.get_result()))

    if not log.hasHandlers():  # nothing would show the lines: print them on stderr
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("wtb plugins: %(message)s"))
        log.addHandler(handler)
    if log.getEffectiveLevel() > logging.DEBUG:
        log.setLevel(logging.DEBUG)
    pm.add_hookcall_monitoring(before, after)


class PluginRegistry:
    """Loads plugins once and answers which implementation has which name."""

    def __init__(self, plugins: Iterable[object] = (), *, load_entrypoints: bool = True) -> None:
        from wtb_core import builtins

        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        if _tracing_requested():
            trace_hook_calls(self.pm)
        self._origins: dict[str, str] = {}
        for module in builtins.MODULES:
            self._register(module, module.__name__, "builtin")
        if load_entrypoints:
            self._load_entrypoints()
        for plugin in plugins:
            self._register(plugin, self._in_process_name(plugin), "in-process")
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(
                f"plugin {exc.plugin!r} implements a hook WTB does not define ({exc}); "
                "check the spelling against wtb_core.hookspecs"
            ) from exc
        self._refuse_registration_wrappers()
        self._order = {
            name: i for i, (name, plugin) in enumerate(self.pm.list_name_plugin()) if plugin
        }
        self._registrations: dict[str, dict[str, Registration]] = {
            kind: self._collect(KINDS[kind]) for kind in KINDS
        }
        self._event_listeners = self._listeners("wtb_on_event")

    # -- loading -------------------------------------------------------------------------

    def _register(self, plugin: object, name: str | None, origin: str) -> None:
        try:
            registered = self.pm.register(plugin, name=name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            raise PluginError(f"plugin {name or plugin!r} could not be registered: {exc}") from exc
        if registered:
            self._origins[registered] = origin

    def _in_process_name(self, plugin: object) -> str:
        base = getattr(plugin, "__name__", None) or type(plugin).__qualname__
        name, n = base, 1
        while self.pm.get_plugin(name) is not None:
            n += 1
            name = f"{base}#{n}"
        return name

    def _load_entrypoints(self) -> None:
        from importlib.metadata import entry_points

        only = _names_from_env("WTB_LOAD_PLUGINS")
        disabled = _names_from_env("WTB_DISABLE_PLUGINS") or set()
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in disabled or (only is not None and ep.name not in only):
                self.pm.set_blocked(ep.name)
        try:
            self.pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        except Exception as exc:
            raise PluginError(
                f"an installed wtb plugin failed to load: {exc!r}. Reinstall it, or skip it "
                "with WTB_DISABLE_PLUGINS=<entry point name>"
            ) from exc
        for plugin, _dist in self.pm.list_plugin_distinfo():
            self._origins[self.pm.get_name(plugin) or repr(plugin)] = "entry point"

    def _plugin_label(self, plugin_name: str) -> str:
        plugin = self.pm.get_plugin(plugin_name)
        for candidate, dist in self.pm.list_plugin_distinfo():
            if candidate is plugin:
                return f"{plugin_name} ({dist.project_name} {dist.version})"
        return plugin_name

    def _refuse_registration_wrappers(self) -> None:
        """A ``wtb_register_*`` implementation is called once per plugin, for its
        registrations: a wrapper around the others has nothing to wrap."""
        for kind in KINDS.values():
            for impl in getattr(self.pm.hook, kind.hook).get_hookimpls():
                if impl.wrapper or impl.hookwrapper:
                    option = "wrapper=True" if impl.wrapper else "hookwrapper=True"
                    raise PluginError(
                        f"plugin {self._plugin_label(impl.plugin_name)} implements {kind.hook} "
                        f"with @hookimpl({option}); a registration hook must be a plain "
                        "@hookimpl that calls register(name, factory): remove the option"
                    )

    def _one_by_one(self, hook: str) -> list[tuple[str, pluggy.HookCaller]]:
        """``(plugin name, caller)`` for each plugin implementing ``hook`` (not as a wrapper),
        in pluggy's call order; a caller runs that plugin's implementation inside every
        wrapper of the hook."""
        impls = getattr(self.pm.hook, hook).get_hookimpls()
        plain = [impl for impl in impls if not (impl.wrapper or impl.hookwrapper)]
        return [
            (
                impl.plugin_name,
                self.pm.subset_hook_caller(hook, [o.plugin for o in plain if o is not impl]),
            )
            for impl in reversed(plain)  # pluggy calls the last of get_hookimpls() first
        ]

    def _listeners(self, hook: str) -> list[tuple[str, Callable[..., object]]]:
        """``_one_by_one(hook)``, but each implementation called directly when nothing
        wraps the hook and no hook call is traced: pluggy's dispatch costs microseconds a
        call, and ``wtb_on_event`` is called for every node start, end and checkpoint."""
        impls = getattr(self.pm.hook, hook).get_hookimpls()
        if _tracing_requested() or any(impl.wrapper or impl.hookwrapper for impl in impls):
            return list(self._one_by_one(hook))
        spec = getattr(self.pm.hook, hook).spec
        names = frozenset(spec.argnames if spec is not None else ())
        return [(impl.plugin_name, _direct(impl, names)) for impl in reversed(impls)]

    def _collect(self, kind: Kind) -> dict[str, Registration]:
        found: dict[str, Registration] = {}
        for plugin_name, call in self._one_by_one(kind.hook):

            def register(name: str, factory: Any, _plugin: str = plugin_name) -> None:
                if not isinstance(name, str) or not name:
                    raise PluginError(
                        f"plugin {_plugin!r} registered a {kind.label} without a name"
                    )
                if not callable(factory):
                    raise PluginError(
                        f"plugin {_plugin!r} registered {kind.label} {name!r} with "
                        f"{type(factory).__name__}, not a factory: register(name, factory) "
                        "takes a class or function that builds the implementation"
                    )
                if name in found:
                    first, second = sorted(
                        (found[name].plugin, _plugin), key=lambda p: self._order.get(p, -1)
                    )
                    raise PluginError(
                        f"{kind.label} {name!r} is registered twice: by "
                        f"{self._plugin_label(first)} and by {self._plugin_label(second)}. "
                        "Uninstall or disable one of them (WTB_DISABLE_PLUGINS=<entry point name>)"
                    )
                found[name] = Registration(kind.key, name, factory, _plugin)

            call(register=register)
        return found

    # -- lookups -----------------------------------------------------------------------

    def names(self, kind: str) -> list[str]:
        """Registered names of one kind, sorted."""
        return sorted(self._registrations[kind])

    def get(self, kind: str, name: str, *, setting: str | None = None) -> Registration:
        """The registration of ``name``; ``PluginNotFoundError`` listing the choices if none,
        telling to fix ``setting`` (default: the stack's setting of ``kind``)."""
        try:
            return self._registrations[kind][name]
        except KeyError:
            label = KINDS[kind].label
            available = ", ".join(self.names(kind)) or "none"
            command = install_command(kind, name)
            hint = f"{label} {name!r} is not installed: {command}" if command else None
            raise PluginNotFoundError(
                f"{hint or f'unknown {label} {name!r}'} (available: {available}). Set "
                f"{setting or KINDS[kind].config_field} to one of the available names or install "
                "the plugin that provides it"
            ) from None

    def _build(self, kind: str, name: str, *args: Any) -> Any:
        """Call the factory of ``name``; an implementation without a ``name`` of its own (the
        ports' ``name`` attribute) is given the one it is registered under."""
        implementation = self.get(kind, name).factory(*args)
        if getattr(implementation, "name", None) is None:
            with contextlib.suppress(AttributeError):  # e.g. a class with __slots__
                implementation.name = name
        return implementation

    def checkpoint_store(self, name: str, config: StackConfig) -> CheckpointStore:
        """The checkpoint store registered as ``name``, built for ``config``."""
        store: CheckpointStore = self._build("checkpoint_store", name, config)
        return store

    def batch_runner(self, name: str, config: StackConfig) -> BatchRunner:
        """The batch runner registered as ``name``, built for ``config``."""
        runner: BatchRunner = self._build("batch_runner", name, config)
        return runner

    def environment_provider(self, name: str, config: StackConfig) -> EnvironmentProvider:
        """The environment provider registered as ``name``, built for ``config``."""
        provider: EnvironmentProvider = self._build("environment_provider", name, config)
        return provider

    def file_tracker(self, name: str, config: StackConfig, metadata: MetadataStore) -> FileTracker:
        """The file tracker registered as ``name``, built for ``config`` over ``metadata``."""
        tracker: FileTracker = self._build("file_tracker", name, config, metadata)
        return tracker

    def evaluator(self, name: str) -> Evaluator:
        """The evaluator registered as ``name``."""
        evaluator: Evaluator = self._build("evaluator", name)
        return evaluator

    # -- broadcast ------------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        """Deliver ``event`` to every ``wtb_on_event``; a failing listener is only logged."""
        for plugin_name, listener in self._event_listeners:
            try:
                listener(event=event)
            except Exception:
                log.exception("wtb_on_event of plugin %r failed", plugin_name)

    def add_commands(self, cli: Typer) -> None:
        """Let every plugin add commands to the ``wtb`` app (``wtb_register_commands``)."""
        self.pm.hook.wtb_register_commands(cli=cli)

    def add_routes(self, app: FastAPI) -> None:
        """Let every plugin add routes to the server (``wtb_register_routes``)."""
        self.pm.hook.wtb_register_routes(app=app)

    # -- description -------------------------------------------------------------------

    def describe(self, include_builtins: bool = False) -> list[PluginInfo]:
        """Every loaded plugin with its version and what it registers."""
        versions = {
            self.pm.get_name(plugin): dist.version
            for plugin, dist in self.pm.list_plugin_distinfo()
        }
        infos: dict[str, PluginInfo] = {}
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:  # an entry point blocked by WTB_LOAD/DISABLE_PLUGINS
                continue
            origin = self._origins.get(name, "in-process")
            if origin == "builtin" and not include_builtins:
                continue
            version = versions.get(name)
            if origin == "builtin":
                from wtb_core import __version__

                version = __version__
            infos[name] = PluginInfo(name=name, version=version, origin=origin)
            infos[name].hooks = sorted(impl.name for impl in self.pm.get_hookcallers(plugin) or ())
        for kind, registrations in self._registrations.items():
            for registration in registrations.values():
                if registration.plugin in infos:
                    infos[registration.plugin].registers.setdefault(kind, []).append(
                        registration.name
                    )
        return list(infos.values())
