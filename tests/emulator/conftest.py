"""Fixtures for the emulator's tests: a fake with a fixed clock and raw HTTP clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from globus_runs.testing import FakeClock, FakeGlobus

from ._support import START, ClientFactory


@pytest.fixture
def fake() -> FakeGlobus:
    """An emulator whose manual clock starts at `START`."""
    return FakeGlobus(clock=FakeClock(START))


@pytest.fixture
def flow_id(fake: FakeGlobus) -> str:
    """A flow whose runs succeed after 10 s, in two Action steps."""
    return fake.add_flow(title="Ten Seconds", duration=10.0)


@pytest.fixture
def connect(fake: FakeGlobus) -> ClientFactory:
    """Open a client on ``fake.app`` sending ``token`` (none when ``None``)."""

    @asynccontextmanager
    async def open_client(token: str | None) -> AsyncIterator[httpx.AsyncClient]:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=fake.app),
            base_url="http://127.0.0.1/flows",
            headers=headers,
        ) as client:
            yield client

    return open_client


@pytest.fixture
async def client(fake: FakeGlobus, connect: ClientFactory) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the emulated Flows service using the fake's all-powerful token."""
    async with connect(fake.token) as client:
        yield client
