"""The pytest plugin's ``--wtb-record DIR`` / ``--wtb-replay DIR`` / ``--wtb-record-missing``.

Each test's ``wtb_bench`` records into, or replays from, one recording (``RECORDING``) of
the nodes its projects mark as external (``WorkflowProject(recorded_nodes=...)``), kept in
``DIR/<test id>.json`` (a file ``wtb recordings export`` writes, to commit next to the
tests). Replaying, an input with no recorded output fails the run naming node and key;
with ``--wtb-record-missing`` the node is called instead and the file gains its output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wtb_core.errors import ConfigurationError

if TYPE_CHECKING:
    from wtb_core.sdk.bench import WTBTestBench

RECORDING = "pytest"


def file_name(test: str) -> str:
    """The recording file of a test: its node id with path separators and brackets made
    file-system safe."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", test).strip("_") + ".json"


@dataclass(frozen=True)
class TestRecordings:
    """Where tests record to or replay from (at most one of the two)."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    record_dir: Path | None
    replay_dir: Path | None
    record_missing: bool

    def __post_init__(self) -> None:
        if self.record_dir is not None and self.replay_dir is not None:
            raise ConfigurationError(
                "--wtb-record and --wtb-replay exclude each other: record once, then replay "
                "(add --wtb-record-missing to a replay to record what is missing)"
            )
        if self.record_missing and self.replay_dir is None:
            raise ConfigurationError("--wtb-record-missing needs --wtb-replay DIR")

    @property
    def active(self) -> bool:
        return self.record_dir is not None or self.replay_dir is not None

    def start(self, bench: WTBTestBench, test: str) -> None:
        """Point ``bench`` at the test's recording (its file imported, when replaying)."""
        if self.record_dir is not None:
            bench.use_recording(record=RECORDING)
            return
        assert self.replay_dir is not None
        path = self.replay_dir / file_name(test)
        if path.is_file():
            bench.import_recording(path, RECORDING)
        else:
            bench.create_recording(RECORDING)
        on_missing = "record" if self.record_missing else "fail"
        bench.use_recording(replay=RECORDING, on_missing=on_missing)

    def finish(self, bench: WTBTestBench, test: str) -> None:
        """Write the test's recording file (recording, or replaying with record-missing),
        when the test recorded anything."""
        directory = self.record_dir or (self.replay_dir if self.record_missing else None)
        if directory is None:
            return
        recorded = {r.name: r.entries for r in bench.list_recordings()}
        if recorded.get(RECORDING):
            bench.export_recording(RECORDING, directory / file_name(test))
