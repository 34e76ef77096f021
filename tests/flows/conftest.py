"""Fixtures for the FlowsClient tests: a client on the emulator (``fake``, whose manual clock
starts at ``START``; see ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from globus_runs import FlowsClient, RetryPolicy
from globus_runs.testing import FakeGlobus, RecordedRequest

from ..conftest import START as START


@pytest.fixture
async def flows(fake: FakeGlobus) -> AsyncIterator[FlowsClient]:
    """A client on the emulator that does not retry (so every request is visible)."""
    async with fake.flows_client(retry=RetryPolicy.disabled()) as client:
        yield client


def only_request(fake: FakeGlobus) -> RecordedRequest:
    """The single request the emulator received."""
    assert len(fake.requests) == 1, [(r.method, r.path) for r in fake.requests]
    return fake.requests[0]


def client_for(fake: FakeGlobus, token: str | None = None) -> FlowsClient:
    """A non-retrying client on ``fake``, by the test's route, with ``token`` (default: the
    owner of the runs)."""
    return fake.flows_client(authorizer=token or fake.token, retry=RetryPolicy.disabled())


@pytest.fixture
async def flows_on(fake: FakeGlobus) -> AsyncIterator[FlowsClient]:
    """The caller (``fake.token``, owner of the runs), by the test's route."""
    async with client_for(fake) as client:
        yield client
