"""What kind of failure a ``WTBError`` is for a client of a server — the one table every
server (REST here, gRPC in wtb-grpc) turns into its own status codes. No web framework is
imported here, so any server plugin can use it (``wtb_core.plugin.error_kind``)."""

from __future__ import annotations

from enum import StrEnum

from wtb_core.errors import (
    BatchNotFoundError,
    CheckpointNotFoundError,
    ExecutionNotFoundError,
    InvalidInputError,
    InvalidStateError,
    ProjectNotFoundError,
    StorageError,
    WTBError,
)
from wtb_core.server.jobs import ServerBusyError


class ErrorKind(StrEnum):
    NOT_FOUND = "not_found"  # no such project, execution, checkpoint or batch (REST 404)
    INVALID_STATE = "invalid_state"  # the resource's state refuses the call (409)
    UNAVAILABLE = "unavailable"  # storage failed or every worker is busy: retry (503)
    INVALID_INPUT = "invalid_input"  # any other bad input (422)


_KINDS: tuple[tuple[type[WTBError], ErrorKind], ...] = (
    (ExecutionNotFoundError, ErrorKind.NOT_FOUND),
    (ProjectNotFoundError, ErrorKind.NOT_FOUND),
    (BatchNotFoundError, ErrorKind.NOT_FOUND),
    (CheckpointNotFoundError, ErrorKind.NOT_FOUND),
    (InvalidInputError, ErrorKind.INVALID_INPUT),  # a kind of InvalidStateError: first
    (InvalidStateError, ErrorKind.INVALID_STATE),
    (StorageError, ErrorKind.UNAVAILABLE),
    (ServerBusyError, ErrorKind.UNAVAILABLE),
)


def error_kind(error: WTBError) -> ErrorKind:
    for cls, kind in _KINDS:
        if isinstance(error, cls):
            return kind
    return ErrorKind.INVALID_INPUT
