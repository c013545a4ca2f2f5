"""Builtin batch runners: ``sequential`` and ``threadpool``."""

from __future__ import annotations

import os
from collections.abc import Iterator

from wtb_core.batch.bounded import run_bounded
from wtb_core.batch.models import BatchRow
from wtb_core.config import StackConfig
from wtb_core.hookspecs import BatchRunnerRegister, hookimpl
from wtb_core.ports.batch_runner import BatchJob


class SequentialRunner:
    """One cell after another, in the calling thread."""

    name = "sequential"
    in_process = True  # cells run through job.execute here: shared prefixes can fork

    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config

    def run(self, job: BatchJob) -> Iterator[BatchRow]:
        for cell in job.cells:
            if job.is_cancelled():
                return
            yield job.execute(cell)

    def close(self) -> None:
        """Nothing to release."""


def default_parallelism() -> int:
    """Workflows mostly wait on models and tools: more threads than cores pay off."""
    return min(32, (os.cpu_count() or 1) * 8)


class ThreadPoolRunner:
    """Cells on a thread pool, at most ``parallelism`` at a time.

    New cells are submitted only as running ones finish, so cancelling stops scheduling at
    once while the cells in flight complete and report.
    """

    name = "threadpool"
    in_process = True  # cells run through job.execute here: shared prefixes can fork

    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config

    def run(self, job: BatchJob) -> Iterator[BatchRow]:
        return run_bounded(
            job.cells,
            job.execute,
            job.parallelism or default_parallelism(),
            job.is_cancelled,
            f"wtb-batch-{job.batch_id}",
        )

    def close(self) -> None:
        """Pools live only for one batch."""


@hookimpl
def wtb_register_batch_runners(register: BatchRunnerRegister) -> None:
    for runner in (SequentialRunner, ThreadPoolRunner):
        register(runner.name, runner)
