"""Errors across the wire: a ``WTBError`` raised by the server's services ends the call
with a gRPC status and its class's name in the trailing metadata; the client raises the
same class with the same message.

Server side, ``status_of`` gives the status; client side, ``rebuilt`` gives the error. A
status the server did not send with a class name (the channel failed, a deadline passed)
becomes one of the errors below.
"""

from __future__ import annotations

from typing import Any

import grpc

from wtb_core import WTBError
from wtb_core.plugin import ErrorKind, error_kind

ERROR_TYPE = "wtb-error-type"
"""Trailing metadata key naming the ``WTBError`` subclass of a failed call."""


class AuthenticationError(WTBError):
    """The server wants a token: pass ``Client(..., token=...)`` (the server's ``--token``
    / ``WTB_API_TOKEN``)."""


class ServerUnavailableError(WTBError):
    """The server cannot be reached, or it is stopping; start it, or retry once it is up."""


class RemoteError(WTBError):
    """The server failed in a way it did not name (a defect there: see its log)."""


_STATUS = {
    ErrorKind.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    ErrorKind.INVALID_STATE: grpc.StatusCode.FAILED_PRECONDITION,
    ErrorKind.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    ErrorKind.INVALID_INPUT: grpc.StatusCode.INVALID_ARGUMENT,
}


def status_of(error: WTBError) -> grpc.StatusCode:
    """The REST server's mapping (``error_kind``) in gRPC terms: NOT_FOUND (404),
    FAILED_PRECONDITION (409), UNAVAILABLE (503), INVALID_ARGUMENT (422)."""
    return _STATUS[error_kind(error)]


def _subclasses(base: type[WTBError]) -> list[type[WTBError]]:
    found: list[type[WTBError]] = []
    for cls in base.__subclasses__():
        found += [cls, *_subclasses(cls)]
    return found


def error_class(name: str) -> type[WTBError] | None:
    """The loaded ``WTBError`` subclass called ``name``, WTB's own first."""
    matches = [cls for cls in _subclasses(WTBError) if cls.__name__ == name]
    ours = [cls for cls in matches if cls.__module__.startswith(("wtb_core.", "wtb_grpc."))]
    found = ours or matches
    return found[0] if found else None


def _make(cls: type[WTBError], message: str) -> WTBError:
    try:
        return cls(message)
    except TypeError:  # a subclass with a constructor of its own
        error = cls.__new__(cls)
        Exception.__init__(error, message)
        return error


def rebuilt(error: grpc.RpcError) -> WTBError:
    """The ``WTBError`` a failed call stands for."""
    code = error.code()
    message = error.details() or code.name
    trailing: Any = error.trailing_metadata() or ()
    name = next((str(value) for key, value in trailing if key == ERROR_TYPE), None)
    cls = error_class(name) if name else None
    if cls is not None:
        return _make(cls, message)
    if name is not None:
        return WTBError(f"{name}: {message}")
    if code is grpc.StatusCode.UNAUTHENTICATED:
        return AuthenticationError(message)
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return ServerUnavailableError(f"{message} ({code.name}); is the server running?")
    return RemoteError(f"{code.name}: {message}")
