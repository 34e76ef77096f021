"""Helpers shared by the emulator's tests."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

import httpx

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

# Opens a client of the emulated Flows service sending the given token (none: no header).
ClientFactory = Callable[[str | None], AbstractAsyncContextManager[httpx.AsyncClient]]


async def start_run(client: httpx.AsyncClient, flow_id: str, **fields: Any) -> dict[str, Any]:
    """Start a run through HTTP (``body`` defaults to ``{}``) and return its document."""
    fields.setdefault("body", {})
    response = await client.post(f"/flows/{flow_id}/run", json=fields)
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


def error_of(response: httpx.Response) -> tuple[int, str]:
    """The status and error code of an error answer, checking the Flows error shape."""
    body = response.json()
    assert set(body) >= {"error", "debug_id"}
    assert set(body["error"]) >= {"code", "detail"}
    return response.status_code, body["error"]["code"]
