"""Parsing the arguments of the ``wtb`` commands: JSON options, ``NODE=NAME`` variants
and checkpoint ids given as unique prefixes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from wtb_core.cli.common import CommandLineError
from wtb_core.errors import CheckpointNotFoundError

if TYPE_CHECKING:
    from wtb_core.sdk.bench import WTBTestBench


_JSON_TYPES: dict[type, str] = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def parse_json(text: str, option: str) -> Any:
    """The JSON value of an option; ``CommandLineError`` saying what is wrong otherwise."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandLineError(
            f"{option} is not valid JSON ({exc.msg} at column {exc.colno}): {text!r}; "
            """quote it for the shell, for example '{"query": "hi"}'"""
        ) from None


def parse_object(text: str | None, option: str) -> dict[str, Any] | None:
    """A JSON object option (``None`` stays ``None``)."""
    if text is None:
        return None
    value = parse_json(text, option)
    if not isinstance(value, dict):
        raise CommandLineError(
            f'{option} must be a JSON object of state keys, such as \'{{"query": "hi"}}\', '
            f"not a JSON {_JSON_TYPES.get(type(value), 'value')}"
        )
    return value


def parse_variants(pairs: list[str] | None) -> dict[str, str]:
    """``["node=name", ...]`` as ``{node: name}``."""
    variants: dict[str, str] = {}
    for pair in pairs or []:
        node, sep, name = pair.partition("=")
        if not sep or not node or not name:
            raise CommandLineError(
                f"--variant {pair!r} is not NODE=NAME (for example retrieve=bm25)"
            )
        variants[node] = name
    return variants


def resolve_checkpoint(bench: WTBTestBench, execution_id: str, given: str) -> str:
    """The full id of the checkpoint of ``execution_id`` that ``given`` names, as a full id
    or a unique prefix (searched over all branches)."""
    ids = [c.checkpoint_id for c in bench.get_checkpoints(execution_id, all_branches=True)]
    if given in ids:
        return given
    matches = [i for i in ids if i.startswith(given)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise CheckpointNotFoundError(
            f"execution {execution_id} has no checkpoint {given!r}; list its checkpoints with "
            f"`wtb checkpoints {execution_id} --all-branches`"
        )
    shown = ", ".join(matches[:3]) + (", …" if len(matches) > 3 else "")
    raise CommandLineError(
        f"checkpoint prefix {given!r} matches {len(matches)} checkpoints of execution "
        f"{execution_id} ({shown}); give more characters"
    )
