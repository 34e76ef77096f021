"""Fixtures shared by every test: both anyio backends, production-shaped payloads, and the
emulator, reached in-process and over loopback sockets."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from globus_runs.testing import FakeClock, FakeGlobus

ROUTES = ("inprocess", "loopback")
# Tests reaching the emulator's app directly (raw HTTP clients, the authorizers' token
# endpoint, faults injected in-process), or by one route of their own (the command line, over
# loopback: tests/cli/conftest.py): the other route would only run them twice.
IN_PROCESS_DIRECTORIES = frozenset({"auth", "cli", "emulator", "reliability"})

# The counts of the documentation's examples that ran, at the end of the session.
pytest_plugins = ["tests.docs.summary"]

TESTS = Path(__file__).resolve().parent
PAYLOADS = TESTS / "payloads"
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(
    params=[
        pytest.param(("asyncio", {}), id="asyncio"),
        pytest.param(("trio", {}), id="trio"),
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> Any:
    """Run every ``@pytest.mark.anyio`` test on asyncio and on trio."""
    return request.param


class Payloads:
    """Production-shaped response bodies (``tests/payloads``, copied from ``shared/payloads``)."""

    def json(self, name: str) -> Any:
        return json.loads(self.text(name))

    def text(self, name: str) -> str:
        return (PAYLOADS / f"{name}.json").read_text()


@pytest.fixture
def payloads() -> Payloads:
    """Load a production-shaped payload by name: ``payloads.json("flows_run_succeeded")``."""
    return Payloads()


# -- the emulator, by route --------------------------------------------------------------
# The emulator is the shipped ``fake_globus`` fixture (globus_runs.testing's pytest plugin);
# here every test on it runs in-process and over loopback.


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "in_process_only(reason): run this test on the in-process emulator only, not also "
        "over loopback",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test on the emulator runs in-process and over loopback, unless marked
    ``in_process_only`` (with a reason) or in one of `IN_PROCESS_DIRECTORIES`."""
    if "fake_globus_route" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("in_process_only")
    if marker is not None and not (marker.args or marker.kwargs.get("reason")):
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: in_process_only needs a reason")
    directory = metafunc.definition.path.relative_to(TESTS).parts[0]
    if marker is None and directory not in IN_PROCESS_DIRECTORIES:
        metafunc.parametrize("fake_globus_route", ROUTES, indirect=True)


@pytest.fixture
def clock() -> FakeClock:
    """The emulator's clock: manual, at ``START`` (override it in a directory or module)."""
    return FakeClock(START)


@pytest.fixture
def fake_globus_clock(clock: FakeClock) -> FakeClock:
    """``fake_globus`` runs on ``clock``."""
    return clock


@pytest.fixture
def fake(fake_globus: FakeGlobus) -> FakeGlobus:
    """The emulator (``fake_globus``) on ``clock``, whose ready clients (``fake.flows_client()``,
    ``fake.timers_client()``) reach it in-process or over loopback on the client's own
    connection pool. Both take ``app=``, an ASGI app in front of the emulator."""
    return fake_globus


@pytest.fixture
def flow_id(fake: FakeGlobus) -> str:
    """A flow whose runs succeed after 10 s, in two Action steps."""
    return fake.add_flow(title="Ten Seconds", duration=10.0)
