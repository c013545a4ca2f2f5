"""Renewing the claims this process holds on running executions.

A ``running`` execution names its owner (``host:pid``). On the owner's host a dead pid
says the run is gone; another host cannot see the pid, so the owner renews the claim —
``executions.heartbeat_at`` — every ``StackConfig.claim_renewal_interval`` seconds, and a
claim not renewed for ``claim_timeout`` seconds reads as a run whose process is gone
(``ExecutionLedger.seen``, ``wtb integrity``). The renewal is one UPDATE of the executions
this process holds, on a background thread that starts with the first run or resume.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from wtb_core.storage.metadata import MetadataStore

log = logging.getLogger(__name__)


class Heartbeat:
    """Renews ``owner``'s claims on the executions ``held()`` names, every ``interval`` s."""

    def __init__(
        self,
        metadata: MetadataStore,
        owner: str,
        interval: float,
        held: Callable[[], Sequence[str]],
    ) -> None:
        self._metadata = metadata
        self._owner = owner
        self._interval = interval
        self._held = held
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start renewing (once; later calls do nothing)."""
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            self._thread = threading.Thread(
                target=self._run, name="wtb-claim-heartbeat", daemon=True
            )
            self._thread.start()

    def renew(self) -> int:
        """Renew the held claims now; how many rows were renewed."""
        return self._metadata.renew_heartbeats(list(self._held()), self._owner)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.renew()
            except Exception:  # a database hiccup: the next beat tries again
                log.exception("renewing the claims of %s failed", self._owner)

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join()
