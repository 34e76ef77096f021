"""Fixtures for the emulator's tests: raw HTTP clients on the emulator (``fake``, in-process,
whose manual clock starts at ``START``; see ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from globus_runs.testing import FakeGlobus

from ._support import ClientFactory


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
