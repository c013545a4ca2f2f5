"""Batch runner ``ray``: cells on threaded execution actors across a Ray cluster.

Measured here: ``ray.util.ActorPool`` sends one call per actor at a time and ignores
``max_concurrency`` (8× slower on I/O-bound cells); one Ray call per cell is also slow once
the actor's threads keep the GIL busy. So each actor gets one streaming call with its share
of the cells, runs them on its own threads, and streams each result back as the cell
finishes. A worker that dies mid-cell is replaced and its unfinished cells retried, up to
``RayConfig.max_retries`` times — with the same execution ids, so each resumes from its
last durable checkpoint and finished nodes are not run again.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, cast

import ray
from opentelemetry import propagate
from ray import cloudpickle  # the serializer Ray itself uses
from ray.actor import ActorClass
from ray.exceptions import GetTimeoutError, RayActorError, WorkerCrashedError

from wtb_core import ConfigurationError, ExecutionStatus, StackConfig
from wtb_core.plugin import (
    BatchJob,
    BatchRow,
    Cell,
    CellStarted,
    DetachedResult,
    cell_fields,
    utcnow,
)
from wtb_ray.actor import CellActor, SharedJob
from wtb_ray.cluster import cluster_nodes, connect

WAIT_S = 0.25
ACTOR_START_S = 120


class RayBatchRunner:
    """Runs cells on a Ray cluster; only the driver writes the metadata store."""

    name = "ray"

    def __init__(self, config: StackConfig) -> None:
        self.config = config

    def run(self, job: BatchJob) -> Iterator[BatchRow | DetachedResult | CellStarted]:
        if job.config.checkpoint_store == "memory":
            raise ConfigurationError(
                "the ray runner needs checkpoints its workers can reach: use the sqlite store "
                "(one machine) or postgres (a cluster), not memory"
            )
        if job.project.file_tracking.enabled:
            raise ConfigurationError(
                f"project {job.project.name!r} tracks files, which the ray runner does not "
                "support yet: use the threadpool runner"
            )
        ray_config = job.project.execution.ray_config
        connect(ray_config, self.config.ray_address)
        width = job.parallelism or ray_config.max_concurrent_workflows
        if not job.cells:
            return
        shared = _shared(job)
        attempts: dict[str, int] = {}
        work = [(cell, uuid.uuid4().hex[:16]) for cell in job.cells]
        while work:
            retry: list[tuple[Cell, str]] = []
            yield from self._round(job, shared, work, width, retry)
            work = []
            for cell, execution_id in retry:
                attempts[execution_id] = attempts.get(execution_id, 0) + 1
                if attempts[execution_id] > ray_config.max_retries:
                    yield _failed(cell, execution_id, attempts[execution_id])
                else:
                    work.append((cell, execution_id))
            if work:
                time.sleep(ray_config.retry_delay)

    def _round(
        self,
        job: BatchJob,
        shared: Any,
        work: list[tuple[Cell, str]],
        width: int,
        retry: list[tuple[Cell, str]],
    ) -> Iterator[DetachedResult | CellStarted]:
        """Run ``work`` on fresh actors; cells of an actor that died go to ``retry``."""
        count = max(1, min(width, cluster_nodes(), len(work)))
        per_actor = math.ceil(width / count)
        shares = [work[i::count] for i in range(count)]
        actors = _ACTORS.get(job.config, count)
        streams = {
            actor.run_cells.options(num_returns="streaming").remote(shared, share, per_actor): (
                actor,
                {execution_id: cell for cell, execution_id in share},
            )
            for actor, share in zip(actors, shares, strict=True)
        }
        cancelled = False
        try:
            while streams:
                if not cancelled and job.is_cancelled():
                    cancelled = True
                    for actor in actors:
                        actor.cancel.remote()
                ready, _ = ray.wait(list(streams), num_returns=1, timeout=WAIT_S)
                for stream in ready:
                    actor, left = streams[stream]
                    # a streaming call's ObjectRefGenerator, which ray's stubs leave untyped
                    refs = cast("Iterator[ray.ObjectRef[DetachedResult | CellStarted]]", stream)
                    try:
                        result = ray.get(next(refs))
                    except StopIteration:
                        del streams[stream]
                        continue
                    except (RayActorError, WorkerCrashedError):
                        del streams[stream]
                        _ACTORS.discard(job.config, actor)
                        if not cancelled:
                            retry.extend((cell, eid) for eid, cell in left.items())
                        continue
                    if not isinstance(result, CellStarted):
                        left.pop(result.execution["id"], None)
                    yield result
        finally:
            if cancelled or streams:  # stopped early (cancel, Ctrl+C): let actors go idle
                for actor in actors:
                    actor.cancel.remote()

    def close(self) -> None:
        """Execution actors outlive a batch (see ``_ActorCache``); nothing to release."""


class _ActorCache:
    """Execution actors kept for the next batch of the same stack, per process; the
    actors of the least recently used stacks beyond ``stacks`` are stopped."""

    def __init__(self, stacks: int = 2) -> None:
        self._actors: dict[str, list[Any]] = {}
        self._stacks = stacks
        self._lock = threading.Lock()

    def get(self, config: StackConfig, count: int) -> list[Any]:
        key = config.model_dump_json()
        with self._lock:
            actors = self._actors.pop(key, [])
            self._actors[key] = actors  # most recently used last
            while len(self._actors) > self._stacks:
                for stale in self._actors.pop(next(iter(self._actors))):
                    ray.kill(stale, no_restart=True)
            while len(actors) < count:
                actors.append(_start_actor(config))
            return actors[:count]

    def discard(self, config: StackConfig, actor: Any) -> None:
        """Forget a dead actor (a fresh one is started when next needed)."""
        with self._lock:
            actors = self._actors.get(config.model_dump_json(), [])
            if actor in actors:
                actors.remove(actor)
        ray.kill(actor, no_restart=True)


_ACTORS = _ActorCache()


def _start_actor(config: StackConfig) -> Any:
    # @ray.remote made CellActor an ActorClass; mypy keeps a decorated class's own type
    actor_class = cast("ActorClass[CellActor]", CellActor)
    actor: Any = actor_class.options(scheduling_strategy="SPREAD").remote(config)
    try:
        ray.get(actor.ready.remote(), timeout=ACTOR_START_S)
    except GetTimeoutError as exc:
        raise ConfigurationError(
            f"a Ray execution actor did not start within {ACTOR_START_S} s; check the cluster"
        ) from exc
    return actor


def _failed(cell: Cell, execution_id: str, attempts: int) -> BatchRow:
    return BatchRow(
        **cell_fields(cell),
        execution_id=execution_id,
        status=ExecutionStatus.FAILED,
        error=f"the Ray worker running this cell died {attempts} times; see the Ray logs",
        finished_at=utcnow(),
    )


def _shared(job: BatchJob) -> Any:
    """The job's shared part, in the object store once (not once per cell)."""
    _pickle_unimportable_by_value(job)
    trace_context: dict[str, str] = {}
    propagate.inject(trace_context)  # the driver's batch span, if one is being traced
    return ray.put(
        SharedJob(job.config, job.project, list(job.cases), dict(job.evaluators), trace_context)
    )


def _pickle_unimportable_by_value(job: BatchJob) -> None:
    """Code from ``__main__`` or from a module workers cannot import by name (a test file
    loaded by path) is shipped by value."""
    functions = [*job.project.callables(), *job.evaluators.values()]
    register: Callable[[ModuleType], None] = cloudpickle.register_pickle_by_value  # unannotated
    for func in functions:
        name = getattr(func, "__module__", None)
        module = sys.modules.get(name or "")
        if name is None or module is None or name == "__main__":
            continue
        try:
            importable = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            importable = False
        if not importable:
            register(module)
