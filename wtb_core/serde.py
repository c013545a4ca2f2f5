"""LangGraph's serializer in strict mode: stored data can never name code to import.

LangGraph's default ``JsonPlusSerializer`` rebuilds any ``module.Name`` a msgpack extension
in a checkpoint names, so a crafted row runs code when WTB merely reads it. Every store WTB
builds uses ``StrictSerializer`` instead: a ``JsonPlusSerializer`` with an explicit
``allowed_msgpack_modules`` — LangGraph's own safe types (datetimes, UUIDs, LangChain
messages, ``Send``…), ``StackConfig.serde_allowlist``, and the types a project's state
schemas name (``allow_graph_types``, when the bench builds the project's graph) — whose
``loads_typed`` raises ``StorageError`` naming any other type instead of importing it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

from langgraph.checkpoint.serde.event_hooks import register_serde_event_listener
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from wtb_core.errors import ConfigurationError, StorageError

_blocked: ContextVar[list[str] | None] = ContextVar("wtb_serde_blocked", default=None)
_listening = threading.Lock()
_listener_installed = False


def _on_serde_event(event: Any) -> None:
    blocked = _blocked.get()
    if blocked is not None and event.get("kind", "").endswith("blocked"):
        name = ".".join(filter(None, (event.get("module"), event.get("name"), event.get("method"))))
        blocked.append(name)


def _install_listener() -> None:
    global _listener_installed
    with _listening:
        if not _listener_installed:
            register_serde_event_listener(_on_serde_event)
            _listener_installed = True


class BoxedFloat:
    """A non-finite float on its way into a store that cannot keep it inline (PostgreSQL's
    JSONB has no NaN): serialised as ``("wtb.float", b"nan")``, read back as the float."""

    __slots__ = ("value",)

    def __init__(self, value: float) -> None:
        self.value = value


_FLOAT = "wtb.float"


class StrictSerializer(JsonPlusSerializer):
    """``JsonPlusSerializer`` that refuses, rather than imports or silently drops, a type
    that is not on its allow-list."""

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        if isinstance(obj, BoxedFloat):
            return _FLOAT, repr(obj.value).encode()
        return super().dumps_typed(obj)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        if data[0] == _FLOAT:
            return float(data[1])
        blocked: list[str] = []
        token = _blocked.set(blocked)
        try:
            value = super().loads_typed(data)
        finally:
            _blocked.reset(token)
        if blocked:
            names = ", ".join(sorted(set(blocked)))
            raise StorageError(
                f"stored data names {names}, which the checkpoint serializer does not allow: "
                "WTB never imports a type from stored data unless it is allowed. If this data "
                "is yours and the type is part of your state, add it as 'module:Name' to "
                "StackConfig.serde_allowlist (WTB_SERDE_ALLOWLIST); otherwise the store holds "
                "data someone else wrote"
            )
        return value


def parse_allowlist(entries: Iterable[str]) -> list[tuple[str, str]]:
    """``"pkg.module:Name"`` (or ``"pkg.module.Name"``) entries as ``(module, name)``."""
    parsed = []
    for entry in entries:
        module, sep, name = entry.partition(":")
        if not sep:
            module, _, name = entry.rpartition(".")
        if not module or not name:
            raise ConfigurationError(
                f"serde_allowlist entry {entry!r} is not 'module:Name' (e.g. 'myapp.state:Doc')"
            )
        parsed.append((module, name))
    return parsed


def strict_serializer(allowlist: Iterable[str] = ()) -> StrictSerializer:
    """A strict serializer allowing LangGraph's safe types plus ``allowlist`` entries."""
    _install_listener()
    return StrictSerializer(allowed_msgpack_modules=tuple(parse_allowlist(allowlist)))


def graph_types(builder: Any) -> set[tuple[str, ...]]:
    """The types a graph's schemas and channels name, as ``StateGraph.compile`` collects
    them under ``LANGGRAPH_STRICT_MSGPACK``."""
    from langgraph._internal._serde import build_serde_allowlist

    schemas = [builder.state_schema, builder.input_schema, builder.output_schema]
    if builder.context_schema is not None:
        schemas.append(builder.context_schema)
    schemas.extend(node.input_schema for node in builder.nodes.values())
    for branches in builder.branches.values():
        schemas.extend(b.input_schema for b in branches.values() if b.input_schema is not None)
    return build_serde_allowlist(schemas=schemas, channels=builder.channels)


def allow_graph_types(saver: Any, builder: Any) -> None:
    """Extend ``saver``'s strict serializer, in place, by the types ``builder`` names (a
    saver WTB did not build, or a non-strict one, is left as it is)."""
    serde = saver.serde
    if isinstance(serde, StrictSerializer):
        extended = serde.with_msgpack_allowlist(graph_types(builder))
        if extended is not serde:
            saver.serde = extended
