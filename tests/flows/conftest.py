"""Fixtures for the FlowsClient tests: a client on the emulator (``fake``, whose manual clock
starts at ``START``; see ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from globus_runs import FlowsClient, RetryPolicy
from globus_runs.testing import FakeGlobus, RecordedRequest

from ..conftest import START as START


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
