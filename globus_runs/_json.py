"""JSON encoding and decoding, with orjson when it is installed."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

__all__ = ["dumps", "loads"]

try:
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    orjson = None  # type: ignore[assignment]


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _std_dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_default).encode()


def _std_loads(data: bytes | str) -> Any:
    try:
        return json.loads(data)
    except RecursionError:  # orjson refuses such nesting with a ValueError too
        raise ValueError("JSON nested too deeply") from None


if orjson is not None:
    dumps = orjson.dumps
    loads = orjson.loads
else:  # pragma: no cover - depends on the environment
    dumps = _std_dumps
    loads = _std_loads
