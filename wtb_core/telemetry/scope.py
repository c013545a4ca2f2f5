"""What the telemetry of the execution being driven on this thread needs to know.

The driver sets it for the length of a drive (``driving``); LangGraph runs nodes in copies
of the driving thread's context, so listeners hear it on every thread of the drive.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Driven:
    """The variants of the execution being driven (for the ``variant`` label)."""

    variants: Mapping[str, str] = field(default_factory=dict)
    workflow_variant: str | None = None


_NONE = Driven()
_driven: ContextVar[Driven] = ContextVar("wtb_telemetry_driven", default=_NONE)


def current() -> Driven:
    return _driven.get()


@contextlib.contextmanager
def driving(variants: Mapping[str, str], workflow_variant: str | None) -> Iterator[None]:
    token = _driven.set(Driven(dict(variants), workflow_variant))
    try:
        yield
    finally:
        _driven.reset(token)
