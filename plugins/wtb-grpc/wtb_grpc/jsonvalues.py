"""State values as JSON text, the way the REST API sends them (pydantic's JSON mode), and
read back with a message that names the field and says what to send."""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import to_json

from wtb_core import InvalidInputError


def dumps(value: Any) -> str:
    """``value`` as JSON text; a value JSON has no form for is sent as its ``str``."""
    return to_json(value, serialize_unknown=True).decode()


def loads(text: str, field: str) -> Any:
    """The JSON value in ``text`` (``InvalidInputError`` naming ``field`` when it is not
    JSON)."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidInputError(
            f'{field} is not valid JSON ({exc}); send JSON text such as {{"query": "hi"}}'
        ) from None


def loads_object(text: str, field: str) -> dict[str, Any]:
    """The JSON object in ``text`` (``InvalidInputError`` when it is not one)."""
    value = loads(text, field)
    if not isinstance(value, dict):
        raise InvalidInputError(
            f"{field} must be a JSON object of state keys, not {type(value).__name__}: "
            'send e.g. {"query": "hi"}'
        )
    return value
