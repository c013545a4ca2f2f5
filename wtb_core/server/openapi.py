"""The server's OpenAPI document, as committed in ``docs/openapi.json``.

    python -m wtb_core.server.openapi > docs/openapi.json

It describes the kernel's routes only (no plugin is loaded), so it does not depend on what
is installed.
"""

from __future__ import annotations

import json
import tempfile
from typing import Any


def openapi_document() -> dict[str, Any]:
    """The document of an application over an in-memory bench with no plugins."""
    from wtb_core.sdk.bench import WTBTestBench
    from wtb_core.server.app import create_app

    with tempfile.TemporaryDirectory() as data_dir:
        bench = WTBTestBench.create("testing", data_dir, load_entrypoints=False)
        try:
            document: dict[str, Any] = create_app(bench).openapi()
        finally:
            bench.close()
    return document


def main() -> None:
    print(json.dumps(openapi_document(), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
