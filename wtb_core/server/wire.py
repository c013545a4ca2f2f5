"""What the event stream sends and what its clients ask for: a stored event as it goes on
the wire (``wire_event``, ``LogEvent``) and a socket's subscription (``Topics``:
``execution:<id>``, ``batch:<id>``, ``project:<name>``, ``*``)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from wtb_core.storage.database import as_utc, json_dumps
from wtb_core.storage.tables import AuditEventRecord


def wire_event(row: AuditEventRecord) -> dict[str, Any]:
    """An event as the stream sends it. A batch's own progress events have
    ``execution_id`` ``""`` and their ``batch_id`` set."""
    return _wire(
        row.id,
        row.event_type,
        row.execution_id,
        row.batch_id,
        row.project,
        row.node,
        row.checkpoint_id,
        row.timestamp,
        row.severity,
        row.message,
        row.data,
    )


def _wire(
    seq: int,
    type_: str,
    execution_id: str,
    batch_id: str | None,
    project: str,
    node: str | None,
    checkpoint_id: str | None,
    timestamp: datetime,
    severity: str,
    message: str,
    data: dict[str, Any],
) -> dict[str, Any]:
    return {
        "seq": seq,
        "type": type_,
        "execution_id": execution_id,
        "batch_id": batch_id,
        "project": project,
        "node": node,
        "checkpoint_id": checkpoint_id,
        "timestamp": as_utc(timestamp).astimezone(UTC).isoformat(),
        "severity": severity,
        "message": message,
        "data": data,
    }


class LogEvent:
    """One event of the log: what subscriptions match on, and its wire text (rendered
    once, when first sent)."""

    __slots__ = ("_text", "batch_id", "execution_id", "project", "seq", "wire")

    def __init__(self, wire: dict[str, Any]) -> None:
        self.wire = wire
        self.seq: int = wire["seq"]
        self.execution_id: str = wire["execution_id"]
        self.batch_id: str | None = wire["batch_id"]
        self.project: str = wire["project"]
        self._text: str | None = None

    @classmethod
    def of(cls, row: AuditEventRecord) -> LogEvent:
        return cls(wire_event(row))

    @classmethod
    def stored(cls, seq: int, row: dict[str, Any]) -> LogEvent:
        """From a row the bus just wrote (``EventBus.on_stored``): the same as reading it
        back."""
        return cls(
            _wire(
                seq,
                row["event_type"],
                row["execution_id"],
                row.get("batch_id"),
                row["project"],
                row["node"],
                row["checkpoint_id"],
                row["timestamp"],
                row["severity"],
                row["message"],
                row["data"],
            )
        )

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = json_dumps(self.wire)
        return self._text


class TopicError(ValueError):
    """A topic the stream does not know."""


@dataclass
class Topics:
    """What a subscriber wants: ``*`` (every event), ``execution:<id>``, ``batch:<id>``,
    ``project:<name>``; an event matches when any of them does."""

    everything: bool = False
    executions: set[str] = field(default_factory=set)
    batches: set[str] = field(default_factory=set)
    projects: set[str] = field(default_factory=set)

    def _sets(self) -> dict[str, set[str]]:
        return {"execution": self.executions, "batch": self.batches, "project": self.projects}

    def _parsed(self, topics: Iterable[str]) -> list[tuple[str, str]]:
        parsed = []
        for topic in topics:
            kind, sep, value = topic.partition(":")
            if topic == "*":
                parsed.append(("*", ""))
            elif sep and value and kind in self._sets():
                parsed.append((kind, value))
            else:
                raise TopicError(
                    f"unknown topic {topic!r}: use 'execution:<id>', 'batch:<id>', "
                    "'project:<name>' or '*'"
                )
        return parsed

    def add(self, topics: Iterable[str]) -> None:
        """Add ``topics`` (all or none: ``TopicError`` names the first bad one)."""
        for kind, value in self._parsed(topics):
            if kind == "*":
                self.everything = True
            else:
                self._sets()[kind].add(value)

    def remove(self, topics: Iterable[str]) -> None:
        for kind, value in self._parsed(topics):
            if kind == "*":
                self.everything = False
            else:
                self._sets()[kind].discard(value)

    def names(self) -> list[str]:
        named = [f"{kind}:{v}" for kind, values in self._sets().items() for v in sorted(values)]
        return ["*", *named] if self.everything else named

    def matches(self, event: LogEvent) -> bool:
        return (
            self.everything
            or event.execution_id in self.executions
            or (event.batch_id is not None and event.batch_id in self.batches)
            or event.project in self.projects
        )

    def filters(self) -> dict[str, Collection[str] | None]:
        """``MetadataStore.events_since`` filters selecting the events that match."""
        if self.everything:
            return {}
        return {"executions": self.executions, "batches": self.batches, "projects": self.projects}
