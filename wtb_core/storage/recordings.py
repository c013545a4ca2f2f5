"""Recordings of node outputs in the metadata database (SQLite, or PostgreSQL with
wtb-postgres), and their files.

A recording is a name and its entries: per (node, key) — the key is LangGraph's cache key,
the hash of the node's variant and a stable digest of its input (``engine.recorded``) —
the node's writes as LangGraph's serializer wrote them (``encoding``, ``value``), beside a
JSON rendering for people. ``export``/``load_file`` move a recording to and from a JSON
file, for committing next to the tests that replay it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, Field
from sqlalchemy import Table, delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from wtb_core.errors import ConfigurationError, RecordingNotFoundError
from wtb_core.storage.database import Database, as_utc, json_dumps, utcnow
from wtb_core.storage.tables import RecordingEntryRecord, RecordingRecord

FILE_FORMAT = "wtb-recording"
FILE_VERSION = 1

_RECORDINGS = cast(Table, RecordingRecord.__table__)
_ENTRIES = cast(Table, RecordingEntryRecord.__table__)


class RecordingEntry(BaseModel):
    """One recorded output: what ``node`` (run as ``variant``) wrote for the input whose
    key is ``key``; ``output`` is the writes as JSON (channel -> value)."""

    node: str
    variant: str
    key: str
    size: int = Field(description="bytes of the serialised writes")
    recorded_at: datetime
    output: dict[str, Any] = Field(default_factory=dict)


class Recording(BaseModel):
    """A named recording: its project, what made it, and its entries per node."""

    name: str
    project: str | None = None
    source: str | None = None
    created_at: datetime
    updated_at: datetime
    entries: int = 0
    nodes: dict[str, int] = Field(default_factory=dict, description="node -> entries")


@dataclass(frozen=True)
class StoredOutput:
    """An entry as stored: the node's writes as ``serde.dumps_typed`` gave them."""

    node: str
    variant: str
    key: str
    encoding: str
    value: bytes
    rendered: dict[str, Any]


def rendered_writes(writes: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Writes as JSON data (channel -> value; a channel written twice keeps a list)."""
    out: dict[str, Any] = {}
    for channel, value in writes:
        if channel in out:
            previous = out[channel]
            out[channel] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[channel] = value
    return cast(dict[str, Any], json.loads(json_dumps(out)))


class RecordingStore:
    """Reads and writes recordings; every method is one short transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def ensure(self, name: str, project: str | None, source: str | None) -> None:
        """Create the recording ``name`` unless it exists."""
        now = utcnow()
        with self.db.connection() as connection:
            connection.execute(
                self._insert(connection.dialect.name, _RECORDINGS).on_conflict_do_nothing(),
                {"name": name, "project": project, "source": source,
                 "created_at": now, "updated_at": now},
            )  # fmt: skip

    def exists(self, name: str) -> bool:
        with self.db.reader() as session:
            return session.get(RecordingRecord, name) is not None

    def put(self, recording: str, outputs: Sequence[StoredOutput]) -> None:
        """Store ``outputs`` in ``recording``, replacing entries with the same node and key."""
        if not outputs:
            return
        now = utcnow()
        rows = [
            {"recording": recording, "node": o.node, "key": o.key, "variant": o.variant,
             "encoding": o.encoding, "value": o.value, "rendered": o.rendered,
             "recorded_at": now}
            for o in outputs
        ]  # fmt: skip
        with self.db.connection() as connection:
            insert = self._insert(connection.dialect.name, _ENTRIES)
            columns = ("variant", "encoding", "value", "rendered", "recorded_at")
            statement = insert.on_conflict_do_update(
                index_elements=["recording", "node", "key"],
                set_={c: insert.excluded[c] for c in columns},
            )
            connection.execute(statement, rows)
            connection.execute(
                _RECORDINGS.update().where(_RECORDINGS.c.name == recording).values(updated_at=now)
            )

    @staticmethod
    def _insert(dialect: str, table: Table) -> Any:
        return postgresql_insert(table) if dialect == "postgresql" else sqlite_insert(table)

    def get(
        self, recording: str, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[str, bytes]]:
        """The stored ``(encoding, value)`` of each ``(node, key)`` that has an entry."""
        if not keys:
            return {}
        c = _ENTRIES.c
        query = select(c.node, c.key, c.encoding, c.value).where(
            c.recording == recording, tuple_(c.node, c.key).in_(list(keys))
        )
        with self.db.reader() as session:
            rows = session.execute(query).all()
        return {(row.node, row.key): (row.encoding, bytes(row.value)) for row in rows}

    def all(self) -> list[Recording]:
        """Every recording, newest first."""
        c = _ENTRIES.c
        counts = select(c.recording, c.node, func.count()).group_by(c.recording, c.node)
        with self.db.reader() as session:
            records = session.scalars(
                select(RecordingRecord).order_by(RecordingRecord.created_at.desc())
            ).all()
            per_node = session.execute(counts).all()
        nodes: dict[str, dict[str, int]] = {}
        for recording, node, count in per_node:
            nodes.setdefault(recording, {})[node] = count
        return [_recording(r, nodes.get(r.name, {})) for r in records]

    def get_recording(self, name: str) -> Recording:
        """The recording ``name`` (``RecordingNotFoundError`` when there is none)."""
        found = [r for r in self.all() if r.name == name]
        if not found:
            raise RecordingNotFoundError(_missing(name))
        return found[0]

    def entries(self, name: str) -> list[RecordingEntry]:
        """The entries of ``name``, by node then key."""
        self.get_recording(name)
        with self.db.reader() as session:
            rows = session.scalars(
                select(RecordingEntryRecord)
                .where(RecordingEntryRecord.recording == name)
                .order_by(RecordingEntryRecord.node, RecordingEntryRecord.key)
            ).all()
        return [
            RecordingEntry(
                node=r.node, variant=r.variant, key=r.key, size=len(r.value),
                recorded_at=as_utc(r.recorded_at), output=r.rendered,
            )
            for r in rows
        ]  # fmt: skip

    def delete(self, name: str) -> None:
        """Delete the recording ``name`` and its entries."""
        self.get_recording(name)
        with self.db.connection() as connection:
            connection.execute(delete(_ENTRIES).where(_ENTRIES.c.recording == name))
            connection.execute(delete(_RECORDINGS).where(_RECORDINGS.c.name == name))

    def clear(self, name: str, nodes: Sequence[str] | None) -> None:
        """Delete the entries of ``name`` (of ``nodes`` only, when given)."""
        query = delete(_ENTRIES).where(_ENTRIES.c.recording == name)
        if nodes is not None:
            query = query.where(_ENTRIES.c.node.in_(list(nodes)))
        with self.db.connection() as connection:
            connection.execute(query)

    # -- files -------------------------------------------------------------------------

    def export(self, name: str, path: Path) -> Path:
        """Write the recording ``name`` to ``path`` (JSON, values base64-encoded)."""
        recording = self.get_recording(name)
        with self.db.reader() as session:
            rows = session.scalars(
                select(RecordingEntryRecord)
                .where(RecordingEntryRecord.recording == name)
                .order_by(RecordingEntryRecord.node, RecordingEntryRecord.key)
            ).all()
        document = {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "name": name,
            "project": recording.project,
            "entries": [
                {"node": r.node, "variant": r.variant, "key": r.key, "encoding": r.encoding,
                 "value": base64.b64encode(r.value).decode(), "output": r.rendered}
                for r in rows
            ],
        }  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", "utf-8")
        temporary.replace(path)
        return path

    def load_file(self, path: Path, name: str | None = None) -> Recording:
        """Store the recording in ``path`` (as ``name``, default: the name in the file),
        adding to a recording of that name if there is one."""
        document = read_file(path)
        target = name or document["name"]
        self.ensure(target, document.get("project"), f"file:{path.name}")
        try:
            outputs = [
                StoredOutput(
                    node=e["node"], variant=e["variant"], key=e["key"], encoding=e["encoding"],
                    value=base64.b64decode(e["value"], validate=True),
                    rendered=e.get("output") or {},
                )
                for e in document["entries"]
            ]  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"{path} has a malformed entry ({type(exc).__name__}: {exc}); export it again "
                "with 'wtb recordings export'"
            ) from exc
        self.put(target, outputs)
        return self.get_recording(target)


def read_file(path: Path) -> dict[str, Any]:
    """The document of a recording file; ``ConfigurationError`` for one that is not ours."""
    try:
        document = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read the recording file {path}: {exc}") from exc
    except ValueError as exc:
        raise ConfigurationError(f"{path} is not JSON ({exc}); is it a recording file?") from exc
    if (
        not isinstance(document, dict)
        or document.get("format") != FILE_FORMAT
        or document.get("version") != FILE_VERSION
        or not isinstance(document.get("entries"), list)
        or not isinstance(document.get("name"), str)
    ):
        raise ConfigurationError(
            f"{path} is not a WTB recording file (format {FILE_FORMAT!r}, version "
            f"{FILE_VERSION}); write one with 'wtb recordings export NAME {path}'"
        )
    return document


def _recording(record: RecordingRecord, nodes: dict[str, int]) -> Recording:
    return Recording(
        name=record.name,
        project=record.project,
        source=record.source,
        created_at=as_utc(record.created_at),
        updated_at=as_utc(record.updated_at),
        entries=sum(nodes.values()),
        nodes=dict(sorted(nodes.items())),
    )


def _missing(name: str) -> str:
    return f"no recording named {name!r}; 'wtb recordings list' shows the recordings there are"
