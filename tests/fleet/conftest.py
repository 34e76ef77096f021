"""Fixtures for fleet operations: clients on the emulator (``fake``, in-process and over
loopback, whose manual clock starts at ``START``; see ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from globus_runs import FlowsClient, RetryPolicy
from globus_runs.testing import FakeGlobus

from ..conftest import START as START

QUICK_RETRIES = RetryPolicy(backoff_initial=0.001, backoff_max=0.005)


def client_for(fake: FakeGlobus, **options: Any) -> FlowsClient:
    """A client with quick retries (unless ``options`` say otherwise) on ``fake``, by the
    test's route."""
    options.setdefault("retry", QUICK_RETRIES)
    return fake.flows_client(**options)


@pytest.fixture
async def flows(fake: FakeGlobus) -> AsyncIterator[FlowsClient]:
    """A client with quick retries on ``fake``."""
    async with client_for(fake) as client:
        yield client


def batch_requests(fake: FakeGlobus) -> list[Any]:
    """The ``POST /batch/runs`` requests ``fake`` received, in order."""
    return [r for r in fake.requests if r.method == "POST" and r.path == "/batch/runs"]
