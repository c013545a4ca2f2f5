"""State out, updates back: each top-level key pickled on its own, so a value that cannot
cross names its key.

Pickle (protocol 5) because the worker has only the standard library: plain data, and
the classes of packages both sides have — LangChain messages when the environment has
``langchain-core``. Coming back, a class is loaded only from a module this process has
imported already (or from the standard library, pydantic, langchain-core): a node's
update never makes the main process import the environment's packages, nor code it
names."""

from __future__ import annotations

import io
import pickle
import sys
from typing import Any

from wtb_uvenv.errors import NodeTransferError
from wtb_uvenv.worker_script import PROTOCOL, WHOLE

_LOADABLE = {
    "builtins", "collections", "copyreg", "_codecs", "datetime", "decimal", "fractions",
    "uuid", "pathlib", "enum", "re", "zoneinfo", "ipaddress", "langchain_core", "pydantic",
    "pydantic_core",
}  # fmt: skip


class _Foreign(Exception):
    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"{module}.{name}")
        self.module, self.name = module, name


class _MainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module in sys.modules or module.split(".")[0] in _LOADABLE:
            return super().find_class(module, name)
        raise _Foreign(module, name)


def encode_state(node: str, state: Any) -> dict[str, bytes]:
    """The node's input, one pickle per key (a non-dict state as one value)."""
    items = state.items() if isinstance(state, dict) else [(WHOLE, state)]
    encoded = {}
    for key, value in items:
        try:
            encoded[key] = pickle.dumps(value, protocol=PROTOCOL)
        except Exception as exc:
            raise NodeTransferError(
                f"state key {key!r} cannot be sent to node {node!r} in its uv environment "
                f"({type(exc).__name__}: {exc}): only values that pickle cross between "
                "processes — keep open files, sockets, locks and clients out of the state"
            ) from None
    return encoded


def decode_update(node: str, update: dict[str, bytes] | None) -> Any:
    """The node's update as LangGraph expects it."""
    if update is None:
        return None
    values = {}
    for key, data in update.items():
        label = "its update" if key == WHOLE else f"key {key!r}"
        try:
            values[key] = _MainUnpickler(io.BytesIO(data)).load()
        except _Foreign as foreign:
            raise NodeTransferError(
                f"node {node!r} returned for {label} a {foreign}, which this process does "
                f"not import ({foreign.module} belongs to the node's environment): return "
                "plain data (str, numbers, lists, dicts) or types this process has"
            ) from None
        except Exception as exc:
            raise NodeTransferError(
                f"node {node!r} returned for {label} a value this process cannot load "
                f"({type(exc).__name__}: {exc}): return plain data"
            ) from None
    return values.get(WHOLE, values)
