"""What ``wtb_run`` returns, and the command lines that inspect a run after its test."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wtb_core.domain.models import ExecutionResult


@dataclass(frozen=True)
class Inspection:
    """Where a test's bench kept its data: ``data_dir`` (metadata, audit) and whether its
    checkpoints outlive the test (not with the in-memory checkpoint store)."""

    data_dir: Path
    checkpoints_kept: bool

    def hint(self, execution_id: str) -> str:
        """How to look at ``execution_id`` once the test is over."""
        where = f"--data-dir {self.data_dir}"
        if self.checkpoints_kept:
            return f"inspect it: wtb {where} checkpoints {execution_id}"
        return (
            f"inspect its audit trail: WTB_CHECKPOINT_STORE=memory wtb {where} audit "
            f"{execution_id}; its checkpoints were kept in memory: to list them, run the test "
            f"again with WTB_CHECKPOINT_STORE=sqlite, then wtb {where} checkpoints "
            f"{execution_id}"
        )


class Outcomes(list["ExecutionResult"]):
    """The runs of one ``wtb_run`` call, one per repetition, in order; ``expect(outcomes)``
    checks every one. ``inspection`` says how to look at a run after the test."""

    def __init__(
        self, runs: Iterable[ExecutionResult], inspection: Inspection | None = None
    ) -> None:
        super().__init__(runs)
        self.inspection = inspection
