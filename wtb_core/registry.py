"""The plugin registry: pluggy underneath, a small typed facade on top.

The engine asks ``registry.checkpoint_store_factory("sqlite")``; it never makes untyped hook
calls. Builtins (``wtb_core.builtins``) are registered through exactly the same
``pm.register`` path as installed plugins, which are discovered through the ``wtb``
entry-point group.

Environment variables:

* ``WTB_LOAD_PLUGINS`` — comma-separated entry-point names to load; set but empty loads none.
* ``WTB_DISABLE_PLUGINS`` — comma-separated entry-point names never to load.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from wtb_core import hookspecs
from wtb_core.errors import PluginError, PluginNotFoundError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = hookspecs.PROJECT_NAME


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

# Which distribution provides a well-known name, for "not installed" messages.
KNOWN_PROVIDERS: dict[tuple[str, str], str] = {
    ("checkpoint_store", "postgres"): "wtb-postgres",
    ("batch_runner", "ray"): "wtb-ray",
    ("environment_provider", "ray"): "wtb-ray",
    ("environment_provider", "uv"): "wtb-uvenv",
    ("file_tracker", "cas"): "wtb-filetrack",
}


@dataclass(frozen=True)
class Registration:
    """A named implementation and the plugin that registered it."""

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


class PluginRegistry:
    """Loads plugins once and answers which implementation has which name."""

    def __init__(self, plugins: Iterable[object] = (), *, load_entrypoints: bool = True) -> None:
        from wtb_core import builtins

        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
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
        self._registrations: dict[str, dict[str, Registration]] = {
            kind: self._collect(KINDS[kind]) for kind in KINDS
        }
        self._event_listeners = [
            (impl.plugin_name, impl.function) for impl in self.pm.hook.wtb_on_event.get_hookimpls()
        ]

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

    def _collect(self, kind: Kind) -> dict[str, Registration]:
        found: dict[str, Registration] = {}
        caller = getattr(self.pm.hook, kind.hook)
        for impl in caller.get_hookimpls():  # registration order

            def register(name: str, factory: Any, _plugin: str = impl.plugin_name) -> None:
                if not isinstance(name, str) or not name:
                    raise PluginError(
                        f"plugin {_plugin!r} registered a {kind.label} without a name"
                    )
                if name in found:
                    raise PluginError(
                        f"{kind.label} {name!r} is registered twice: by "
                        f"{self._plugin_label(found[name].plugin)} and by "
                        f"{self._plugin_label(_plugin)}. Uninstall or disable one of them "
                        "(WTB_DISABLE_PLUGINS=<entry point name>)"
                    )
                found[name] = Registration(kind.key, name, factory, _plugin)

            impl.function(**{arg: register for arg in impl.argnames})
        return found

    # -- lookups -----------------------------------------------------------------------

    def names(self, kind: str) -> list[str]:
        """Registered names of one kind, sorted."""
        return sorted(self._registrations[kind])

    def get(self, kind: str, name: str) -> Registration:
        """The registration of ``name``; ``PluginNotFoundError`` listing the choices if none."""
        try:
            return self._registrations[kind][name]
        except KeyError:
            label = KINDS[kind].label
            available = ", ".join(self.names(kind)) or "none"
            package = KNOWN_PROVIDERS.get((kind, name))
            if package:
                hint = f"{label} {name!r} is not installed: pip install {package}"
            else:
                hint = f"unknown {label} {name!r}"
            raise PluginNotFoundError(
                f"{hint} (available: {available}). Set {KINDS[kind].config_field} to one of "
                "the available names or install the plugin that provides it"
            ) from None

    def create(self, kind: str, name: str, *args: Any) -> Any:
        """Build the named implementation with its factory's arguments."""
        registration = self.get(kind, name)
        implementation = registration.factory(*args)
        if getattr(implementation, "name", None) is None:
            with contextlib.suppress(AttributeError):  # e.g. a class with __slots__
                implementation.name = name
        return implementation

    # -- broadcast ------------------------------------------------------------------------

    def emit(self, event: Any) -> None:
        """Deliver ``event`` to every ``wtb_on_event``; a failing listener is only logged."""
        for plugin_name, listener in self._event_listeners:
            try:
                listener(event=event)
            except Exception:
                log.exception("wtb_on_event of plugin %r failed", plugin_name)

    def call_broadcast(self, hook: str, **kwargs: Any) -> None:
        """Call a broadcast hook (``wtb_register_commands`` / ``wtb_register_routes``)."""
        getattr(self.pm.hook, hook)(**kwargs)

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
