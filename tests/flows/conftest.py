"""Fixtures for the FlowsClient tests: an emulator with a fixed clock and a client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from globus_runs import FlowsClient, RetryPolicy
from globus_runs.testing import FakeClock, FakeGlobus, RecordedRequest, serve_in_thread

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> FakeGlobus:
    """An emulator whose manual clock starts at ``START``."""
    return FakeGlobus(clock=FakeClock(START))


@pytest.fixture
def flow_id(fake: FakeGlobus) -> str:
    """A flow whose runs succeed after 10 s."""
    return fake.add_flow(title="Ten Seconds", duration=10.0)


@pytest.fixture
async def flows(fake: FakeGlobus) -> AsyncIterator[FlowsClient]:
    """A client on the emulator that does not retry (so every request is visible)."""
    async with fake.flows_client(retry=RetryPolicy.disabled()) as client:
        yield client


def only_request(fake: FakeGlobus) -> RecordedRequest:
    """The single request the emulator received."""
    assert len(fake.requests) == 1, [(r.method, r.path) for r in fake.requests]
    return fake.requests[0]


@pytest.fixture(params=["in_process", "loopback"])
def connection(request: pytest.FixtureRequest, fake: FakeGlobus) -> Iterator[str | None]:
    """``None`` for the in-process app, else the Flows URL of ``fake`` served on loopback."""
    if request.param == "in_process":
        yield None
    else:
        with serve_in_thread(fake) as info:
            yield info["flows_url"]


def client_for(fake: FakeGlobus, url: str | None, token: str | None = None) -> FlowsClient:
    """A non-retrying client on ``fake``: in-process when ``url`` is None, else over sockets."""
    if url is None:
        return fake.flows_client(authorizer=token or fake.token, retry=RetryPolicy.disabled())
    return FlowsClient(authorizer=token or fake.token, base_url=url, retry=RetryPolicy.disabled())


@pytest.fixture
async def flows_on(fake: FakeGlobus, connection: str | None) -> AsyncIterator[FlowsClient]:
    """The caller (``fake.token``, owner of the runs) on either connection."""
    async with client_for(fake, connection) as client:
        yield client
