"""State values in the metadata database, encoded by LangGraph's own serializer.

A JSON column turns an ``AIMessage`` or a pydantic model into a plain dict, so state read
back from the metadata database would not be the state the run produced. The checkpoint
store's serializer (``saver.serde``) writes the typed value; ``StateCodec`` frames its
``(type, bytes)`` pair as one blob: ``<type>\\n<bytes>``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wtb_core.errors import StorageError

if TYPE_CHECKING:
    from langgraph.checkpoint.serde.base import SerializerProtocol


class StateCodec:
    """Encodes state dicts to blobs and back with the checkpoint store's serializer.

    ``serde_of`` is asked each time: the store's strict serializer grows its allow-list as
    the bench builds project graphs (``wtb_core.serde``).
    """

    def __init__(self, serde_of: Callable[[], SerializerProtocol]) -> None:
        self._serde_of = serde_of

    def encode(self, state: dict[str, Any] | None) -> bytes | None:
        if state is None:
            return None
        type_, data = self._serde_of().dumps_typed(state)
        return type_.encode() + b"\n" + data

    def decode(self, blob: bytes, what: str) -> dict[str, Any]:
        """The state in ``blob``; ``what`` names it in the error if it cannot be read."""
        type_, sep, data = bytes(blob).partition(b"\n")
        try:
            if not sep:
                raise ValueError("no type header")
            value = self._serde_of().loads_typed((type_.decode(), data))
        except Exception as exc:
            raise StorageError(
                f"the stored state of {what} cannot be read ({type(exc).__name__}: {exc})"
            ) from exc
        if not isinstance(value, dict):
            raise StorageError(f"the stored state of {what} is a {type(value).__name__}")
        return value
