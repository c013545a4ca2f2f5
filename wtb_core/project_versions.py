"""A project's version history: the append-only list of ``ProjectVersion`` entries behind
``WorkflowProject.update_node`` / ``update_workflow`` / ``restore_version``.

``VersionHistory`` owns the labels' rules (unique, valid, minor bumps by default) and the
lookup by label or number; the project decides what each new entry holds. It is not
thread-safe on its own: ``WorkflowProject`` calls it under its lock.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from wtb_core.errors import ProjectError
from wtb_core.project_checks import check_version_label

VersionKind = Literal["initial", "node_update", "workflow_update", "restore"]

_MINOR = re.compile(r"^(.+)\.(\d+)$")


def next_minor_label(label: str, taken: set[str]) -> str:
    """The first free minor bump of ``label``: ``"1.0"`` → ``"1.1"``, ``"beta"`` → ``"beta.1"``."""
    match = _MINOR.match(label)
    prefix, minor = (match.group(1), int(match.group(2))) if match else (label, 0)
    candidate = minor + 1
    while f"{prefix}.{candidate}" in taken:
        candidate += 1
    return f"{prefix}.{candidate}"


@dataclass(frozen=True)
class ProjectVersion:
    """One entry of a project's version history (append-only, oldest first).

    ``number`` is the 1-based position in the history. A ``"restore"`` entry carries the
    label and graph of the version it restored (``restored_from`` is that version's
    number), so a label always denotes the same graph. ``dropped_variants`` lists the
    ``"node:variant"`` registrations removed because their node left the graph.
    ``graph_factory``, ``node_overrides`` and ``state_schema`` rebuild the version's graph;
    they live in memory only. ``graph_number`` is the number of the entry whose
    ``graph_factory`` introduced that graph (the initial version or a workflow update).
    """

    version: str
    number: int
    kind: VersionKind
    created_at: datetime
    graph_factory: Callable[[], Any] = field(repr=False, compare=False)
    graph_number: int
    node: str | None = None
    reason: str = ""
    changelog: str = ""
    restored_from: int | None = None
    dropped_variants: tuple[str, ...] = ()
    node_overrides: Mapping[str, Callable[..., Any]] = field(
        default_factory=dict, repr=False, compare=False
    )  # a private copy (a plain dict, so projects pickle for worker processes)
    state_schema: type | None = field(default=None, repr=False, compare=False)


class VersionHistory:
    """The entries of project ``project``'s history, oldest first; it only ever grows."""

    def __init__(
        self,
        project: str,
        label: str,
        graph_factory: Callable[[], Any],
        state_schema: type | None,
    ) -> None:
        self._project = project
        self._entries = [
            ProjectVersion(
                version=check_version_label(label),
                number=1,
                kind="initial",
                created_at=datetime.now(UTC),
                graph_factory=graph_factory,
                graph_number=1,
                state_schema=state_schema,
            )
        ]

    @property
    def current(self) -> ProjectVersion:
        """The entry in force (the newest)."""
        return self._entries[-1]

    def entries(self) -> list[ProjectVersion]:
        return list(self._entries)

    @property
    def next_number(self) -> int:
        return len(self._entries) + 1

    def new_label(self, label: str | None) -> str:
        """``label`` checked to be valid and unused, or the first free minor bump of the
        current label when ``None``."""
        taken = {entry.version for entry in self._entries}
        if label is None:
            label = next_minor_label(self.current.version, taken)
        check_version_label(label)
        if label in taken:
            history = ", ".join(entry.version for entry in self._entries)
            raise ProjectError(
                f"project {self._project!r} already has a version {label!r} (history: "
                f"{history}); pass another version= label"
            )
        return label

    def find(self, version: str | int) -> ProjectVersion:
        """The entry labelled ``version`` or numbered ``version``."""
        for entry in self._entries:
            if entry.version == version or (isinstance(version, int) and entry.number == version):
                return entry
        history = ", ".join(f"#{entry.number} {entry.version}" for entry in self._entries)
        raise ProjectError(
            f"project {self._project!r} has no version {version!r}; its history is: {history}"
        )

    def restore_entry(
        self, target: ProjectVersion, reason: str, dropped: tuple[str, ...]
    ) -> ProjectVersion:
        """A ``"restore"`` entry bringing ``target``'s label and graph back."""
        return dataclasses.replace(
            target,
            number=self.next_number,
            kind="restore",
            created_at=datetime.now(UTC),
            node=None,
            reason=reason,
            changelog="",
            restored_from=target.number,
            dropped_variants=dropped,
        )

    def append(self, entry: ProjectVersion) -> None:
        self._entries.append(entry)
