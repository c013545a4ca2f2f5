"""The calls on batch tests: run, read, compare, cancel, resume. A batch runs on the
server's job pool (its cells on its own runner), like the REST API's."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from wtb_core.plugin import BatchTestResult, Comparison
from wtb_grpc._gen import wtb_pb2 as pb
from wtb_grpc.batches import batch_message, case_of, comparison_message, matrix_of
from wtb_grpc.calls import Calls, Context, blocking, finished, ignore_start, translated
from wtb_grpc.messages import optional


class BatchCalls(Calls):
    async def _drive_batch(
        self, batch_id: str, work: Callable[[Callable[[str], None]], BatchTestResult], detach: bool
    ) -> pb.Batch:
        """Drive ``work(started)`` on the pool; answer once it ends, or (``detach``) with
        the batch as stored once it started."""
        if detach:
            await self.jobs.start("batch", batch_id, work)
            return batch_message(await blocking(self.services.batches.get, batch_id))
        job = self.jobs.submit("batch", batch_id, lambda: work(ignore_start))
        return batch_message(await finished(job))

    @translated
    async def RunBatchTest(self, request: pb.RunBatchRequest, context: Context) -> pb.Batch:
        batch_id = uuid.uuid4().hex[:16]  # known before the batch is: the pool's key
        matrix = matrix_of(request.variant_matrix)
        cases = [case_of(spec, i) for i, spec in enumerate(request.test_cases)]
        run = self.services.batches.run

        def work(started: Callable[[str], None]) -> BatchTestResult:
            return run(
                request.project,
                matrix,
                cases,
                list(request.evaluators) or None,
                optional(request, "parallelism"),
                optional(request, "runner"),
                request.repetitions if request.HasField("repetitions") else 1,
                batch_id=batch_id,
                on_created=started,
            )

        return await self._drive_batch(batch_id, work, request.detach)

    @translated
    async def ResumeBatch(self, request: pb.ResumeBatchRequest, context: Context) -> pb.Batch:
        evaluators = list(request.evaluators.names) if request.HasField("evaluators") else None
        resume = self.services.batches.resume

        def work(started: Callable[[str], None]) -> BatchTestResult:
            return resume(
                request.batch_id,
                evaluators,
                request.retry_failed,
                optional(request, "runner"),
                optional(request, "parallelism"),
                on_started=started,
            )

        return await self._drive_batch(request.batch_id, work, request.detach)

    @translated
    async def GetBatch(self, request: pb.BatchRef, context: Context) -> pb.Batch:
        return batch_message(await blocking(self.services.batches.get, request.batch_id))

    @translated
    async def CancelBatch(self, request: pb.BatchRef, context: Context) -> pb.Batch:
        return batch_message(await blocking(self.services.batches.cancel, request.batch_id))

    @translated
    async def GetComparison(self, request: pb.ComparisonRequest, context: Context) -> pb.Comparison:
        chosen = request.WhichOneof("baseline")
        baseline: str | Mapping[str, Any] | None = None
        if chosen == "baseline_label":
            baseline = request.baseline_label
        elif chosen == "baseline_entry":
            baseline = dict(request.baseline_entry.variants)

        def compare() -> Comparison:
            return self.services.batches.get(request.batch_id).comparison(baseline)

        return comparison_message(await blocking(compare))
