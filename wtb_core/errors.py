"""The one error hierarchy of WTB.

Every message says what was wrong *and* what to do about it, so a user reading only the
message (for example the CLI's one-line error) knows the next step.
"""

from __future__ import annotations


class WTBError(Exception):
    """Base class of every error WTB raises on purpose."""


class ConfigurationError(WTBError):
    """The stack or project configuration is invalid."""


class PluginError(WTBError):
    """A plugin is broken, registers a name twice, or misspells a hook."""


class PluginNotFoundError(PluginError, ConfigurationError):
    """A configured implementation name is not registered by any installed plugin."""


class ProjectNotFoundError(WTBError):
    """No project of that name is registered with the bench."""


class ProjectError(WTBError):
    """A project (or one of its variants) is defined incorrectly."""


class ExecutionNotFoundError(WTBError):
    """No execution with that id exists in the metadata store."""


class BatchNotFoundError(WTBError):
    """No batch with that id exists in the metadata store."""


class CheckpointNotFoundError(WTBError):
    """The checkpoint does not exist in the execution's thread."""


class InvalidStateError(WTBError):
    """The operation is not allowed in the execution's (or batch's) current status."""


class InvalidInputError(InvalidStateError):
    """A value given to an operation does not fit the graph: an unknown state key, node or
    breakpoint, a value the state schema or a reducer refuses, a malformed id. (A kind of
    ``InvalidStateError``, as it was before it had its own class; servers answer 422.)"""


class StateSerializationError(WTBError):
    """A state value cannot be serialised by the checkpointer."""


class StorageError(WTBError):
    """The metadata or checkpoint store failed or is unreachable."""


class RecordingNotFoundError(WTBError):
    """No recording of that name exists in the metadata store."""


class RecordingMissingError(WTBError):
    """A replayed node's input has no recorded output (``on_missing="fail"``)."""

    def __init__(self, message: str, node: str, key: str) -> None:
        super().__init__(message)
        self.node = node
        self.key = key
