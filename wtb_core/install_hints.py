"""The one table of install hints: which distribution provides a well-known name.

"checkpoint store 'postgres' is not installed: pip install wtb-postgres" and every other
message that says what to install comes from here. No other kernel module names a plugin
package or distribution in its code (``tests/test_architecture.py`` checks it), so a plugin
can be renamed, split or replaced by changing this table alone.
"""

from __future__ import annotations

KNOWN_PROVIDERS: dict[tuple[str, str], str] = {
    ("checkpoint_store", "postgres"): "wtb-postgres",
    ("batch_runner", "ray"): "wtb-ray",
    ("environment_provider", "ray"): "wtb-ray",
    ("environment_provider", "uv"): "wtb-uvenv",
    ("file_tracker", "cas"): "wtb-filetrack",
}
"""``(kind, name)`` → the distribution whose plugin registers that name."""


def install_command(kind: str, name: str) -> str | None:
    """``pip install <distribution>`` for a well-known ``(kind, name)``, else ``None``."""
    package = KNOWN_PROVIDERS.get((kind, name))
    return f"pip install {package}" if package else None


def install_commands(kind: str) -> list[tuple[str, str]]:
    """``(name, "pip install <distribution>")`` of every well-known name of ``kind``."""
    return [
        (n, f"pip install {package}") for (k, n), package in KNOWN_PROVIDERS.items() if k == kind
    ]
