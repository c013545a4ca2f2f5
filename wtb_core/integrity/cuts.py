"""Cut points: the named places between two writes of a multi-store operation.

``cut(name)`` is called at each of them (``CUT_POINTS`` lists them all). It does nothing
unless a test has installed an injector (``install``) — then the injector decides: kill
the process (a real SIGKILL), raise ``InjectedFault``, or let it pass. The fault-injection
tests (``tests/integrity``) install one in a subprocess, from an environment variable
their harness reads, or in-process with a monkeypatch. Cost when none is installed: one
global read.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable

CUT_POINTS: dict[str, str] = {
    "run.after_create": "a run's execution row is stored, nothing driven yet",
    "resume.after_claim": "a resume has claimed the execution, its files not yet restored",
    "drive.before_snapshot": "a checkpoint is written, its file snapshot not yet taken",
    "drive.after_checkpoint": "a checkpoint and its file snapshot are written",
    "drive.before_finish": "the drive ended, the execution row not yet updated",
    "rollback.after_intent": "a rollback's outbox row is stored, no file restored",
    "rollback.after_files": "a rollback restored the files, the head not yet moved",
    "fork.after_intent": "a fork's outbox row is stored, no thread copied",
    "fork.after_copy": "a fork copied the thread, no file links yet",
    "fork.after_links": "a fork linked the files, no update applied",
    "fork.after_update": "a fork applied its updates, its execution row not yet stored",
    "update_state.after_intent": "an update's outbox row is stored, no checkpoint written",
    "update_state.after_checkpoint": "an update wrote its checkpoint, the row not updated",
    "delete.after_intent": "a delete's outbox row is stored, nothing deleted",
    "delete.after_checkpoints": "a delete removed the thread, not yet the metadata",
    "gc.after_commits": "garbage collection deleted unreferenced commits, not yet the blobs",
    "batch.before_row": "a batch cell's execution is finished, its row not yet written",
    "batch.after_row": "a batch cell's row is written",
}

Injector = Callable[[str], None]
_injector: Injector | None = None


class InjectedFault(RuntimeError):
    """The failure a test injected at a cut point."""


def cut(name: str) -> None:
    """A cut point: hands ``name`` to the installed injector, if any."""
    if _injector is not None:
        _injector(name)


def install(injector: Injector | None) -> None:
    """Install (or, with ``None``, remove) the process's injector."""
    global _injector
    _injector = injector


class FailAt:
    """An injector failing the ``nth`` time the cut point ``name`` is reached: with
    ``action="kill"`` the process SIGKILLs itself, with ``"raise"`` it raises
    ``InjectedFault``. ``hits`` counts how often ``name`` was reached."""

    def __init__(self, name: str, action: str = "raise", nth: int = 1) -> None:
        if name not in CUT_POINTS:
            raise ValueError(f"unknown cut point {name!r}; known: {', '.join(CUT_POINTS)}")
        if action not in ("kill", "raise"):
            raise ValueError(f"action must be 'kill' or 'raise', not {action!r}")
        self.name, self.action, self.nth = name, action, nth
        self.hits = 0
        self._lock = threading.Lock()

    def __call__(self, name: str) -> None:
        if name != self.name:
            return
        with self._lock:
            self.hits += 1
            due = self.hits == self.nth
        if not due:
            return
        if self.action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise InjectedFault(f"failure injected at cut point {name!r} (hit {self.nth})")
