"""Where a stack keeps blobs and cell workspaces."""

from __future__ import annotations

from pathlib import Path

from wtb_core.plugin import FileTrackingConfig

REPOSITORY_DIR = "files"
WORKSPACES_DIR = "workspaces"


def repository_path(data_dir: Path, config: FileTrackingConfig) -> Path:
    """``config.repository_path`` (relative to ``data_dir`` when relative), by default
    ``<data_dir>/files``."""
    chosen = Path(config.repository_path) if config.repository_path else Path(REPOSITORY_DIR)
    return (data_dir / chosen).resolve()


def workspaces_path(data_dir: Path, config: FileTrackingConfig) -> Path:
    """Cell workspaces live next to the repository: ``<repository>/../workspaces``."""
    return repository_path(data_dir, config).parent / WORKSPACES_DIR
