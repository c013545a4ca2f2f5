"""Comparisons of stored batches, worked out once per state of their rows.

A comparison of a 10,000-row batch takes most of a second (bootstrap intervals and
permutation tests per combination and metric); a dashboard asks for the same one on every
view. ``ComparisonCache`` keeps the last ones computed, keyed by the batch, the question
(baseline and options) and the rows' fingerprint — how many there are, the newest row id
and finish time (``MetadataStore.batch_rows_fingerprint``) — so a row added or replaced
(a resumed or retried batch) is a new key and nothing stale is ever answered.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from wtb_core.batch.comparison import Comparison

SIZE = 32


def question(baseline: str | Mapping[str, str] | None, options: Mapping[str, Any]) -> str:
    """The part of the key a caller chooses: baseline and options, as canonical JSON."""
    return json.dumps({"baseline": baseline, "options": options}, sort_keys=True, default=repr)


class ComparisonCache:
    """A thread-safe LRU of ``SIZE`` comparisons; callers get copies."""

    def __init__(self, size: int = SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, Comparison] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Comparison]) -> Comparison:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
        if found is None:
            found = compute()
            with self._lock:
                self._entries[key] = found
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
        return found.model_copy(deep=True)
