"""Clear errors for state values the checkpointer cannot serialise.

LangGraph reports such a value as a bare ``TypeError`` ("Type is not msgpack
serializable: Foo") raised from inside the saver, with no state key attached. The key is
found by re-trying each value with the saver's serializer: for inputs directly, for a
node's output from the ``writes`` the failing ``put_writes`` call was given (found on the
traceback, so the hot path pays nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol

from wtb_core.errors import StateSerializationError

_ADVICE = (
    "store JSON-like data, a dataclass, a pydantic model or an enum instead (plain class "
    "instances cannot be checkpointed)"
)


def _unserialisable(serde: SerializerProtocol, value: Any) -> bool:
    try:
        serde.dumps_typed(value)
    except Exception:
        return True
    return False


def bad_keys(serde: SerializerProtocol, items: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(key, value) for key, value in items if _unserialisable(serde, value)]


def check_input(serde: SerializerProtocol, values: Mapping[str, Any]) -> None:
    """Raise ``StateSerializationError`` naming every input key that cannot be stored."""
    bad = bad_keys(serde, values.items())
    if bad:
        described = ", ".join(f"{key!r} ({type(value).__name__})" for key, value in bad)
        raise StateSerializationError(
            f"initial state key {described} cannot be serialised by the checkpointer: {_ADVICE}"
        )


def is_serialisation_error(exc: BaseException) -> bool:
    return isinstance(exc, TypeError) and "serializ" in str(exc)


def describe_failure(
    exc: BaseException, serde: SerializerProtocol, nodes: Iterable[str]
) -> StateSerializationError:
    """Turn the saver's ``TypeError`` into an error naming the node(s) and state key."""
    writes = _writes_on_traceback(exc)
    bad = bad_keys(serde, writes) if writes else []
    who = " or ".join(repr(n) for n in nodes) or "a node"
    if bad:
        what = ", ".join(f"state key {key!r} ({type(value).__name__})" for key, value in bad)
    else:
        what = f"a value ({exc})"
    return StateSerializationError(
        f"{who} wrote {what} the checkpointer cannot serialise: {_ADVICE}"
    )


def _writes_on_traceback(exc: BaseException) -> list[tuple[str, Any]]:
    tb = exc.__traceback__
    found: list[tuple[str, Any]] = []
    while tb is not None:
        writes = tb.tb_frame.f_locals.get("writes")
        if (
            isinstance(writes, Sequence)
            and not isinstance(writes, str)
            and all(isinstance(w, tuple) and len(w) == 2 and isinstance(w[0], str) for w in writes)
        ):
            found = list(writes)
        tb = tb.tb_next
    return found
