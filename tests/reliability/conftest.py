"""Fixtures for the reliability tests: a flow on the emulator (``fake``, in-process; see
``tests/conftest.py``) on a manual clock starting now, and quick retries."""

from __future__ import annotations

import pytest

from globus_runs import RetryPolicy
from globus_runs.testing import FakeClock, FakeGlobus


@pytest.fixture
def clock() -> FakeClock:
    """A manual clock starting now (runs stay ACTIVE until it is advanced): a start's
    look-up searches the runs started since the client's own clock read the time."""
    return FakeClock()


@pytest.fixture
def flow_id(fake: FakeGlobus) -> str:
    """A flow whose runs take a day."""
    return fake.add_flow(duration=86400.0)


@pytest.fixture
def quick() -> RetryPolicy:
    """The default policy with millisecond backoff."""
    return RetryPolicy(backoff_initial=0.001, backoff_max=0.005)
