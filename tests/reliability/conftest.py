"""Fixtures for the reliability tests: a still emulator, a flow and quick retries."""

from __future__ import annotations

import pytest

from globus_runs import RetryPolicy
from globus_runs.testing import FakeClock, FakeGlobus


@pytest.fixture
def fake() -> FakeGlobus:
    """An emulator whose manual clock starts now (runs stay ACTIVE until it is advanced)."""
    return FakeGlobus(clock=FakeClock())


@pytest.fixture
def flow_id(fake: FakeGlobus) -> str:
    """A flow whose runs take a day."""
    return fake.add_flow(duration=86400.0)


@pytest.fixture
def quick() -> RetryPolicy:
    """The default policy with millisecond backoff."""
    return RetryPolicy(backoff_initial=0.001, backoff_max=0.005)
