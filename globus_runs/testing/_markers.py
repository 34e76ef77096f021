"""Opaque paging markers.

A marker is URL-safe base64 of a small JSON document naming its kind (which
listing it belongs to) and everything needed to produce the next page, so a
request carrying a marker needs no other parameter.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from ._errors import bad_request


def encode_marker(kind: str, state: dict[str, Any]) -> str:
    """Pack ``state`` into a marker for listings of ``kind``."""
    raw = json.dumps({"kind": kind, **state}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_marker(kind: str, marker: str) -> dict[str, Any]:
    """Unpack a marker made by `encode_marker` for ``kind``; 400 otherwise."""
    try:
        raw = base64.urlsafe_b64decode(marker + "=" * (-len(marker) % 4))
        state = json.loads(raw)
    except (binascii.Error, ValueError):
        raise bad_request("Invalid marker") from None
    if not isinstance(state, dict) or state.pop("kind", None) != kind:
        raise bad_request("Invalid marker")
    return state
