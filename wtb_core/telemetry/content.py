"""Message content on execution spans, only when the user opts in.

OpenTelemetry's GenAI instrumentations record no message content unless
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` asks for it; WTB follows the same
switch. With it set to ``true`` (or ``span_only`` / ``span_and_event``, the values of
``opentelemetry-util-genai``), an execution span gets ``gen_ai.input.messages`` — the
``messages`` of the call's input — and ``gen_ai.output.messages`` — the messages of the
final state that the input did not hold — as JSON in the GenAI conventions' shape
(``[{"role": ..., "parts": [{"type": "text", "content": ...}, ...]}]``). A state without a
``messages`` list records nothing; no other state is ever recorded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_ON = {"true", "1", "yes", "span_only", "span_and_event"}
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


def capture_enabled() -> bool:
    """Whether the user opted in to message content on spans (read at every span)."""
    return os.environ.get(ENV, "").strip().lower() in _ON


def messages_of(value: Any) -> list[Any]:
    """The ``messages`` list of a state or input mapping (``[]`` when there is none)."""
    if isinstance(value, Mapping):
        messages = value.get("messages")
        if isinstance(messages, Sequence) and not isinstance(messages, str | bytes):
            return list(messages)
    return []


def new_messages(final: Sequence[Any], given: Sequence[Any]) -> list[Any]:
    """The messages of ``final`` that ``given`` did not hold (by id when they have one)."""
    ids = {_field(m, "id") for m in given} - {None}
    return [m for m in final if (_field(m, "id") not in ids if ids else m not in given)]


def as_json(messages: Sequence[Any]) -> str:
    """``messages`` (LangChain messages, their dict form, or strings) in the GenAI shape."""
    return json.dumps([_message(m) for m in messages], default=str, ensure_ascii=False)


def _message(message: Any) -> dict[str, Any]:
    if isinstance(message, str):
        return {"role": "user", "parts": [{"type": "text", "content": message}]}
    kind = _field(message, "type") or _field(message, "role") or "user"
    parts: list[dict[str, Any]] = []
    content = _field(message, "content")
    if isinstance(content, str):
        if content:
            parts.append({"type": "text", "content": content})
    elif isinstance(content, Sequence):
        for part in content:
            if isinstance(part, Mapping) and part.get("type") == "text":
                parts.append({"type": "text", "content": part.get("text", "")})
            else:
                parts.append({"type": "generic", "content": part})
    for call in _field(message, "tool_calls") or ():
        parts.append(
            {
                "type": "tool_call",
                "id": _field(call, "id"),
                "name": _field(call, "name"),
                "arguments": _field(call, "args"),
            }
        )
    if kind == "tool":
        parts = [
            {
                "type": "tool_call_response",
                "id": _field(message, "tool_call_id"),
                "response": content,
            }
        ]
    return {"role": _ROLES.get(str(kind), str(kind)), "parts": parts}


def _field(item: Any, name: str) -> Any:
    if isinstance(item, Mapping):
        return item.get(name)
    return getattr(item, name, None)
