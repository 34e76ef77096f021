"""Decoding request bodies as JSON, within bounds any client may hit.

A body nested deeper than `MAX_DEPTH` is refused like any other malformed body,
so no service (nor the request record) ever meets a document whose handling
would exhaust the interpreter's recursion limit.
"""

from __future__ import annotations

import json
from typing import Any

#: The deepest nesting of arrays and objects a request body may have.
MAX_DEPTH = 64


class BodyError(ValueError):
    """A request body that is not a JSON document the emulator accepts."""


def _too_deep(value: Any, limit: int) -> bool:
    """Whether ``value`` nests arrays/objects more than ``limit`` levels (no recursion)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def decode_json(raw: bytes) -> Any:
    """The JSON document in ``raw``; `BodyError` saying why when it is not acceptable.

    Bodies nested more than `MAX_DEPTH` levels are refused.
    """
    try:
        document = json.loads(raw)
    except RecursionError:
        raise BodyError(f"JSON nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as err:
        raise BodyError(f"not valid JSON: {err}") from None
    if _too_deep(document, MAX_DEPTH):
        raise BodyError(f"JSON nested more than {MAX_DEPTH} levels deep")
    return document
