"""Recorded node outputs on LangGraph's own node cache.

A graph that records or replays is compiled with a ``RecordingCache`` (a LangGraph
``BaseCache`` over the recordings table, ``storage.recordings``) and a ``CachePolicy`` on
each recorded node whose ``key_func`` is ``input_key``: the node's variant and the SHA-256
of a canonical JSON rendering of its input (sorted keys; message ids left out, as
``add_messages`` draws them at random), the same in every process. LangGraph hashes that
into the cache key (xxh3-128) of the namespace ``("__pregel_ns_writes", <callable>,
<node>)``; the cache keys entries by node and that key, ignoring the callable's name.

LangGraph asks the cache before a step runs (``match_cached_writes``): a hit becomes the
task's writes and the node is not called; a miss runs the node, whose writes LangGraph
then hands to ``set`` (on a background thread). What the cache does depends on its
``RecordingSpec``:

* ``record`` — every lookup misses (each recorded node is called) and every output is
  stored, replacing the entry for the same input;
* ``replay`` — outputs are served from the recording; a missing input raises
  ``RecordingMissingError`` naming node, variant and key (``on_missing="fail"``), runs the
  node (``"call"``) or runs it and adds its output to the recording (``"record"``).

Hits are told to the drive that is looking them up (``reporting_replays``, a context
variable like ``engine.observed``'s), which reports the node as replayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal, cast

from langchain_core.messages import BaseMessage
from langgraph.cache.base import BaseCache, FullKey, Namespace
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.types import CachePolicy
from pydantic import BaseModel
from pydantic_core import PydanticSerializationError, to_jsonable_python

from wtb_core.errors import (
    ConfigurationError,
    RecordingMissingError,
    RecordingNotFoundError,
    StorageError,
)
from wtb_core.project import WorkflowProject
from wtb_core.project_checks import check_name
from wtb_core.storage.recordings import RecordingStore, StoredOutput, rendered_writes

Mode = Literal["record", "replay"]
OnMissing = Literal["fail", "call", "record"]
ON_MISSING: tuple[str, ...] = ("fail", "call", "record")
Writes = list[tuple[str, Any]]
ReplayListener = Callable[[str, str, str], None]  # (node, key, recording)

_replays: ContextVar[ReplayListener | None] = ContextVar("wtb_replays", default=None)


@contextlib.contextmanager
def reporting_replays(listener: ReplayListener | None) -> Iterator[None]:
    """Tell ``listener(node, key, recording)`` of every output served in the block."""
    token = _replays.set(listener)
    try:
        yield
    finally:
        _replays.reset(token)


@dataclass(frozen=True)
class RecordingSpec:
    """How a run records or replays: into / from recording ``name``, for ``nodes``."""

    name: str
    mode: Mode
    nodes: tuple[str, ...]
    on_missing: OnMissing = "fail"

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecordingSpec:
        return cls(
            name=data["name"],
            mode=data["mode"],
            nodes=tuple(data["nodes"]),
            on_missing=data.get("on_missing", "fail"),
        )

    @property
    def writes(self) -> bool:
        """Whether outputs of called nodes are stored."""
        return self.mode == "record" or self.on_missing == "record"


@dataclass(frozen=True)
class RecordingRequest:
    """What a call asked for: ``record`` / ``replay`` / ``on_missing`` / ``recorded_nodes``
    as the bench's ``run`` and ``run_batch_test`` take them, unchecked."""

    record: bool | str = False
    replay: str | None = None
    on_missing: str = "fail"
    recorded_nodes: Sequence[str] | None = None

    @property
    def asked(self) -> bool:
        """Whether any of them differs from its default."""
        return bool(
            self.record
            or self.replay is not None
            or self.recorded_nodes is not None
            or self.on_missing != "fail"
        )


def recording_spec(
    store: RecordingStore,
    project: WorkflowProject,
    request: RecordingRequest,
    default_name: str,
) -> RecordingSpec | None:
    """Check a call's ``RecordingRequest`` and return what the run does (``None``:
    neither record nor replay). ``record=True`` records into a recording named
    ``default_name`` (the batch or execution id), ``record="name"`` into ``name``; the
    recording is created then. A replayed recording must exist."""
    record, replay, on_missing = request.record, request.replay, request.on_missing
    if on_missing not in ON_MISSING:
        raise ConfigurationError(
            f"on_missing must be one of {', '.join(map(repr, ON_MISSING))}, not {on_missing!r}"
        )
    if not isinstance(record, (bool, str)) or record == "":
        raise ConfigurationError(f"record must be True, False or a recording name, not {record!r}")
    if replay is not None and not isinstance(replay, str):
        raise ConfigurationError(f"replay must be a recording name, not {replay!r}")
    if record and replay is not None:
        raise ConfigurationError(
            "record and replay exclude each other: replay with on_missing='record' to add "
            "the outputs the recording lacks"
        )
    if not record and replay is None:
        if request.asked:
            raise ConfigurationError(
                "on_missing and recorded_nodes apply only with record=... or replay=..."
            )
        return None
    chosen = project.check_recorded(request.recorded_nodes)
    if replay is not None:
        if not store.exists(replay):
            raise RecordingNotFoundError(
                f"no recording named {replay!r} to replay; record one first (record=True) "
                "or import its file ('wtb recordings import FILE')"
            )
        return RecordingSpec(replay, "replay", chosen, cast(OnMissing, on_missing))
    if on_missing != "fail":
        raise ConfigurationError("on_missing applies only with replay=...")
    name = check_name("recording", default_name if record is True else str(record))
    store.ensure(name, project.name, default_name)
    return RecordingSpec(name, "record", chosen)


def variant_label(node: str, variant_config: Mapping[str, str], workflow: str | None) -> str:
    """What an entry's ``variant`` says: the node's variant, after the workflow variant's
    name when there is one (``"bm25"``, ``"with_reranker:default"``)."""
    name = variant_config.get(node, "default")
    return f"{workflow}:{name}" if workflow else name


def input_digest(node: str, value: Any) -> str:
    """SHA-256 of the canonical JSON of a node's input (stable across processes)."""
    try:
        text = json.dumps(value, sort_keys=True, default=_canonical, separators=(",", ":"))
    except (TypeError, ValueError, PydanticSerializationError) as exc:
        raise ConfigurationError(
            f"the input of recorded node {node!r} cannot be keyed for its recording "
            f"({exc}); keep its state to JSON-like values, messages, dataclasses or "
            "pydantic models, or leave the node out of recorded_nodes"
        ) from exc
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value: Any) -> Any:
    """The JSON form of a value ``json`` cannot write (``json.dumps``' ``default``)."""
    if isinstance(value, BaseMessage):
        dumped = value.model_dump()
        dumped.pop("id", None)
        return {"__message__": type(value).__name__, **dumped}
    if isinstance(value, BaseModel):
        return {"__model__": type(value).__qualname__, **value.model_dump()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {"__dataclass__": type(value).__qualname__, **fields}
    if isinstance(value, (set, frozenset)):
        return sorted(json.dumps(v, sort_keys=True, default=_canonical) for v in value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return value.hex()
    return to_jsonable_python(value)


def input_key(node: str, variant: str) -> Callable[[Any], str]:
    """The ``CachePolicy.key_func`` of a recorded node run as ``variant``."""

    def key(value: Any) -> str:
        return f"{variant}\n{input_digest(node, value)}"

    return key


class RecordingCache(BaseCache[Writes]):
    """LangGraph's node cache over the recordings table, recording or replaying as its
    ``RecordingSpec`` says; ``variants`` maps each recorded node to its variant label."""

    def __init__(
        self,
        store: RecordingStore,
        spec: RecordingSpec,
        variants: Mapping[str, str],
        serde: SerializerProtocol,
    ) -> None:
        super().__init__(serde=serde)
        self._store = store
        self.spec = spec
        self._variants = dict(variants)

    def policies(self) -> dict[str, CachePolicy[Callable[[Any], str]]]:
        """The cache policy of each recorded node."""
        return {
            node: CachePolicy(key_func=input_key(node, v)) for node, v in self._variants.items()
        }

    def _recorded(self, keys: Sequence[FullKey]) -> list[tuple[str, str]]:
        return [(ns[-1], key) for ns, key in keys if ns and ns[-1] in self._variants]

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, Writes]:
        spec = self.spec
        if spec.mode == "record":
            return {}
        wanted = self._recorded(keys)
        stored = self._store.get(spec.name, wanted)
        listener = _replays.get()
        found: dict[FullKey, Writes] = {}
        for ns, key in keys:
            node = ns[-1] if ns else ""
            if (node, key) not in wanted:
                continue
            entry = stored.get((node, key))
            if entry is None:
                if spec.on_missing == "fail":
                    raise RecordingMissingError(self._missing(node, key), node, key)
                continue
            try:
                found[(ns, key)] = cast(Writes, self.serde.loads_typed(entry))
            except StorageError:
                raise
            except Exception as exc:
                raise StorageError(
                    f"the output of node {node!r} for key {key} in recording {spec.name!r} "
                    f"cannot be read ({type(exc).__name__}: {exc}); record it again"
                ) from exc
            if listener is not None:
                listener(node, key, spec.name)
        return found

    def _missing(self, node: str, key: str) -> str:
        return (
            f"recording {self.spec.name!r} has no output of node {node!r} (variant "
            f"{self._variants[node]!r}) for this input (key {key}); record it "
            "(record=True, or on_missing='record' to add what is missing) or replay with "
            "on_missing='call' to call the node when its input was not recorded"
        )

    def set(self, pairs: Mapping[FullKey, tuple[Writes, int | None]]) -> None:
        if not self.spec.writes:
            return
        outputs = []
        for (ns, key), (writes, _ttl) in pairs.items():
            node = ns[-1] if ns else ""
            if node not in self._variants:
                continue
            encoding, value = self.serde.dumps_typed(list(writes))
            outputs.append(
                StoredOutput(
                    node, self._variants[node], key, encoding, value, rendered_writes(writes)
                )
            )
        self._store.put(self.spec.name, outputs)

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        nodes = None if namespaces is None else [ns[-1] for ns in namespaces if ns]
        self._store.clear(self.spec.name, nodes)

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, Writes]:
        return await asyncio.to_thread(self.get, keys)

    async def aset(self, pairs: Mapping[FullKey, tuple[Writes, int | None]]) -> None:
        await asyncio.to_thread(self.set, pairs)

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        await asyncio.to_thread(self.clear, namespaces)
