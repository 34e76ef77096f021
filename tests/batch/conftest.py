"""Fixtures for batches and waits: the emulator (``fake``, see ``tests/conftest.py``) on a clock
that runs fast in real time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from globus_runs import FlowsClient, RetryPolicy
from globus_runs.testing import FakeClock, FakeGlobus

from ..conftest import START

PER_REQUEST = 1.0  # emulated seconds per request the emulator answers

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> FakeClock:
    """By default a clock moving ``PER_REQUEST`` emulated seconds with each request,
    so runs progress as they are polled, at any machine speed. A test may ask for another
    step (``@pytest.mark.parametrize("clock", [("ticking", 10.0)], indirect=True)``), a
    manual clock (``["manual"]``) or one following real time (``[("realtime", 1000.0)]``,
    emulated seconds per real second)."""
    wanted: Any = getattr(request, "param", ("ticking", PER_REQUEST))
    if wanted == "manual":
        return FakeClock(START)
    kind, rate = wanted
    if kind == "realtime":
        return FakeClock(START, realtime=True, speed=rate)
    return FakeClock(START, per_request=rate)


@pytest.fixture
async def flows(fake: FakeGlobus) -> AsyncIterator[FlowsClient]:
    """A client on the emulator with quick retries."""
    retry = RetryPolicy(backoff_initial=0.001, backoff_max=0.005)
    async with fake.flows_client(retry=retry, concurrency=8) as client:
        yield client


class FailFirst:
    """An ASGI wrapper answering the first ``count`` matching requests with a 503."""

    def __init__(self, app: ASGIApp, count: int, path_suffix: str = "") -> None:
        self.app = app
        self.count = count
        self.path_suffix = path_suffix
        self.failed = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (
            scope["type"] == "http"
            and self.failed < self.count
            and scope["path"].endswith(self.path_suffix)
        ):
            self.failed += 1
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [(b"content-type", b"text/html")],
                }
            )
            await send({"type": "http.response.body", "body": b"<h1>503 busy</h1>"})
            return
        await self.app(scope, receive, send)
