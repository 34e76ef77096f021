"""The emulator's record of the requests it received."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs


@attrs.define(kw_only=True)
class RecordedRequest:
    """One request as the emulator received it, failing ones included.

    ``path`` is relative to the service (``"/runs/abc"`` for
    ``/flows/runs/abc``); ``query`` keeps every pair in order, ``params`` the
    last value of each key; header names are lower-case; ``json`` is the
    decoded body, or ``None`` when there was none or it was not JSON;
    ``time`` is the emulator clock's time on arrival; ``status_code`` is the
    status answered (``None`` while the request is being handled, and when the
    connection was dropped); ``fault`` is the kind of fault injected into it
    (see ``FakeGlobus.faults``), if any.
    """

    service: str
    method: str
    path: str
    query: list[tuple[str, str]]
    params: dict[str, str]
    headers: dict[str, str]
    json: Any
    body: bytes
    time: datetime
    status_code: int | None = None
    fault: str | None = None
