"""A manifest's chunks kept current from snapshot to snapshot.

The kernel stores a manifest as chunks (``wtb_core.plugin.split``: runs of sorted paths,
each ending after a path ``is_end`` picks). Splitting the whole manifest at every snapshot
costs as much as the manifest is large; ``ChunkedManifest`` re-encodes and re-hashes only
the runs a change touches, and always equals a fresh ``split`` — the commit ids, and so
the sharing of identical trees, are the same either way.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping

from wtb_core.plugin import Chunk, is_end, run_chunks


class ChunkedManifest:
    """A manifest's chunks kept up to date as entries change: only the runs a change
    touches are encoded and hashed again. Always equal to ``split`` of the whole."""

    def __init__(self, fragments: Mapping[str, str]) -> None:
        paths = sorted(fragments)
        self._ends: list[str] = []  # sorted; each closes a run
        self._runs: dict[str | None, list[str]] = {}  # run end (None: the tail) -> paths
        self._chunks: dict[str | None, list[Chunk]] = {}
        start = 0
        for i, path in enumerate(paths):
            if is_end(path):
                self._ends.append(path)
                self._runs[path] = paths[start : i + 1]
                start = i + 1
        self._runs[None] = paths[start:]
        for end, run in self._runs.items():
            self._chunks[end] = run_chunks(run, fragments)

    @property
    def chunks(self) -> list[Chunk]:
        """The manifest's chunks, in path order."""
        ordered = [c for end in self._ends for c in self._chunks[end]]
        return ordered + self._chunks[None]

    def update(self, fragments: Mapping[str, str], changed: Iterable[str]) -> list[Chunk]:
        """Apply the ``changed`` paths (in ``fragments`` now: added or modified; not:
        removed); returns the chunks of ``fragments``."""
        touched: set[str | None] = set()
        for path in changed:
            at = bisect.bisect_left(self._ends, path)
            end = self._ends[at] if at < len(self._ends) else None
            run = self._runs[end]
            i = bisect.bisect_left(run, path)
            present = i < len(run) and run[i] == path
            if path in fragments:
                touched.add(end)
                if present:
                    continue
                run.insert(i, path)
                if is_end(path):  # the run splits after it
                    self._runs[path], self._runs[end] = run[: i + 1], run[i + 1 :]
                    self._ends.insert(at, path)
                    touched.add(path)
            elif present:
                del run[i]
                if path == end:  # the run merges into the next one
                    del self._ends[at], self._runs[end]
                    self._chunks.pop(end, None)
                    after = self._ends[at] if at < len(self._ends) else None
                    self._runs[after][:0] = run
                    touched.discard(end)
                    touched.add(after)
                else:
                    touched.add(end)
        for end in touched:
            self._chunks[end] = run_chunks(self._runs[end], fragments)
        return self.chunks
