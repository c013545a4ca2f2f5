"""State values and stream chunks as the JSON the LangGraph clients read.

``jsonable`` renders what a graph holds the way the Agent Server's encoder does: pydantic
models (LangChain messages) by ``model_dump()``, dataclasses (``Interrupt``) field by
field, ``Send`` as ``{"node", "args"}``, an exception as ``{"error", "message"}``, tuples
and sets as lists, non-finite floats as ``null`` (the clients' JSON parser refuses
``NaN``); anything else by ``str``. ``dumps`` is compact, single-line JSON (an SSE
``data:`` line). ``with_thread`` puts the API's thread id where LangGraph wrote the
execution's own thread (``wtb-<execution id>``).
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
import math
import uuid
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from langgraph.types import Send


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (see the module docstring)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, Send):
        return {"node": value.node, "args": jsonable(value.arg)}
    if hasattr(value, "model_dump") and not isinstance(value, type):
        return jsonable(value.model_dump())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "_asdict") and not isinstance(value, type):
        return jsonable(value._asdict())
    if isinstance(value, BaseException):
        return {"error": type(value).__name__, "message": str(value)}
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, Decimal):
        return jsonable(float(value))
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID | PurePath):
        return str(value)
    return str(value)


def dumps(value: Any) -> str:
    """Compact single-line JSON of ``jsonable(value)``."""
    return compact(jsonable(value))


def compact(data: Any) -> str:
    """Compact single-line JSON of data that is JSON already."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def with_thread(value: Any, own_thread: str, api_thread: str) -> Any:
    """``value`` (JSON data) with every ``"thread_id": own_thread`` entry naming
    ``api_thread`` instead."""
    if isinstance(value, dict):
        return {
            k: api_thread
            if k == "thread_id" and v == own_thread
            else with_thread(v, own_thread, api_thread)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [with_thread(v, own_thread, api_thread) for v in value]
    return value


def error_parts(error: str | None) -> tuple[str, str]:
    """``("ValueError", "bad input")`` from an execution's ``"ValueError: bad input"``."""
    text = error or "the execution failed"
    kind, sep, message = text.partition(": ")
    if sep and kind.isidentifier():
        return kind, message
    return "ExecutionFailed", text
