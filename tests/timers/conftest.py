"""Fixtures for the Timers tests: clients on the emulator (``fake``, whose manual clock starts
at ``START``; see ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from globus_runs import FlowsClient, RetryPolicy, TimersClient
from globus_runs.testing import FakeGlobus, RecordedRequest

from ..conftest import START as START

MANAGER = "urn:globus:auth:identity:00000000-0000-1000-8000-00000000000a"
MONITOR = "urn:globus:auth:identity:00000000-0000-1000-8000-00000000000b"
EVERY_MINUTE: dict[str, Any] = {"type": "recurring", "interval_seconds": 60}


@pytest.fixture
def flow_id(fake: FakeGlobus) -> str:
    """A flow whose runs succeed 30 s after they start."""
    return fake.add_flow(title="Half a Minute", duration=30.0)


@pytest.fixture
async def timers(fake: FakeGlobus) -> AsyncIterator[TimersClient]:
    """A Timers client on the emulator that does not retry (so every request is visible)."""
    async with fake.timers_client(retry=RetryPolicy.disabled()) as client:
        yield client


@pytest.fixture
async def flows(fake: FakeGlobus) -> AsyncIterator[FlowsClient]:
    """A Flows client on the emulator, to look at the runs timers started."""
    async with fake.flows_client(retry=RetryPolicy.disabled()) as client:
        yield client


@pytest.fixture
async def http(fake: FakeGlobus) -> AsyncIterator[httpx.AsyncClient]:
    """A raw HTTP client of the emulated Timers service with the fake's token."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app),
        base_url="http://127.0.0.1/timers",
        headers={"Authorization": f"Bearer {fake.token}"},
    ) as client:
        yield client


def timers_requests(fake: FakeGlobus) -> list[RecordedRequest]:
    """The requests the emulated Timers service received, in order."""
    return [request for request in fake.requests if request.service == "timers"]


def flows_requests(fake: FakeGlobus) -> list[RecordedRequest]:
    """The requests the emulated Flows service received, in order."""
    return [request for request in fake.requests if request.service == "flows"]


def summary(request: RecordedRequest) -> tuple[str, str, list[tuple[str, str]], Any]:
    """A request's method, path, query pairs and JSON body."""
    return request.method, request.path, request.query, request.json


def canned(status: int, document: Any) -> TimersClient:
    """A client whose every request is answered with ``document`` (for shapes the
    emulator never produces)."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=document)

    return TimersClient(
        authorizer="test-token",
        base_url="https://timer.automate.globus.org/",
        transport=httpx.MockTransport(answer),
        retry=RetryPolicy.disabled(),
    )
