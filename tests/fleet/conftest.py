"""Fixtures for fleet operations: the emulator on a manual clock, in-process or on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from globus_runs import FlowsClient, RetryPolicy
from globus_runs.testing import FakeClock, FakeGlobus, serve_in_thread

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
QUICK_RETRIES = RetryPolicy(backoff_initial=0.001, backoff_max=0.005)
_SERVED: set[int] = set()  # ids of the emulators served on loopback


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeGlobus, dict[str, Any]]]:
    """One emulator per module, served on 127.0.0.1 from a thread, on a manual clock."""
    fake = FakeGlobus(clock=FakeClock(START))
    with serve_in_thread(fake) as info:
        _SERVED.add(id(fake))
        yield fake, info
    _SERVED.discard(id(fake))


@pytest.fixture(params=["in_process", "loopback"])
def fake(request: pytest.FixtureRequest) -> FakeGlobus:
    """The emulator: a fresh one in-process, or the module's served one (requests cleared)."""
    if request.param == "in_process":
        return FakeGlobus(clock=FakeClock(START))
    served_fake, _info = request.getfixturevalue("served")
    served_fake.clear_requests()
    served_fake.faults.clear()
    return served_fake  # type: ignore[no-any-return]


def client_for(fake: FakeGlobus, **options: Any) -> FlowsClient:
    """A client on ``fake``: in-process, or over the sockets of the served emulator."""
    options.setdefault("retry", QUICK_RETRIES)
    if id(fake) in _SERVED:
        return FlowsClient(authorizer=fake.token, base_url=fake.flows_url, **options)
    return fake.flows_client(**options)


@pytest.fixture
async def flows(fake: FakeGlobus) -> AsyncIterator[FlowsClient]:
    """A client with quick retries on ``fake``."""
    async with client_for(fake) as client:
        yield client


def batch_requests(fake: FakeGlobus) -> list[Any]:
    """The ``POST /batch/runs`` requests ``fake`` received, in order."""
    return [r for r in fake.requests if r.method == "POST" and r.path == "/batch/runs"]
