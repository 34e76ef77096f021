"""Fixtures shared by every test: both anyio backends, production-shaped payloads, and the
emulator, reached in-process and over loopback sockets."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from globus_runs.testing import FakeClock, FakeGlobus

from ._routes import ROUTES, LoopbackServer, RoutedFake

# The counts of the documentation's examples that ran, at the end of the session.
pytest_plugins = ["tests.docs.summary"]

PAYLOADS = Path(__file__).resolve().parent / "payloads"
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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "in_process_only(reason): run this test on the in-process emulator only, not also "
        "over loopback",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test on the ``fake`` fixture runs in-process and over loopback, unless marked
    ``in_process_only`` (with a reason)."""
    if "fake_route" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("in_process_only")
    if marker is None:
        metafunc.parametrize("fake_route", ROUTES, indirect=True)
    elif not (marker.args or marker.kwargs.get("reason")):
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: in_process_only needs a reason")


@pytest.fixture
def fake_route(request: pytest.FixtureRequest) -> str:
    """How the test's clients reach the emulator: ``inprocess`` or ``loopback``."""
    return str(getattr(request, "param", "inprocess"))


@pytest.fixture(scope="session")
def loopback_server() -> Iterator[LoopbackServer]:
    """One uvicorn server on 127.0.0.1 for the session; each test mounts its own emulator."""
    with LoopbackServer.running() as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    """The emulator's clock: manual, at ``START`` (override it in a directory or module)."""
    return FakeClock(START)


@pytest.fixture
def fake(request: pytest.FixtureRequest, fake_route: str, clock: FakeClock) -> Iterator[FakeGlobus]:
    """A fresh emulator on ``clock`` whose ready clients (``fake.flows_client()``,
    ``fake.timers_client()``) reach it by ``fake_route``: in-process, or over loopback on the
    client's own connection pool. Both take ``app=``, an ASGI app in front of the emulator."""
    if fake_route == "inprocess":
        yield RoutedFake(clock, None)
        return
    monkeypatch = request.getfixturevalue("monkeypatch")
    # A proxy in the environment would send the client through httpx instead of its own pool.
    for name in list(os.environ):
        if name.lower() in ("http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.delenv(name)
    server: LoopbackServer = request.getfixturevalue("loopback_server")
    yield RoutedFake(clock, server)
    server.unmount_all()
