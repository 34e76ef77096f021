"""A pytest plugin offering the emulator as the ``fake_globus`` fixture.

``fake_globus`` is a fresh `FakeGlobus` for one test, on the clock of ``fake_globus_clock``
(manual, starting now; override the fixture to start elsewhere). Its ready clients,
``fake_globus.flows_client()`` and ``fake_globus.timers_client()``, reach it by the route of
``fake_globus_route``:

- ``"inprocess"`` (the default): each request goes straight to the emulator's ASGI app;
- ``"loopback"``: the client opens its own connection pool, as in production, to the
  emulator served by uvicorn on 127.0.0.1 (one server for the session, each test's emulator
  under a path of its own).

Run a test both ways by parametrizing the route::

    @pytest.mark.parametrize("fake_globus_route", ["inprocess", "loopback"], indirect=True)
    async def test_start(fake_globus: FakeGlobus) -> None: ...

Both clients also take ``app=``: an ASGI app in front of the emulator (one that loses
responses, say) that they talk to instead, by the same route.

Imports of the emulator happen inside the fixtures, so merely having the plugin installed
costs nothing and needs no optional dependency.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ._clock import FakeClock
    from ._fake import FakeGlobus
    from ._routes import LoopbackServer

__all__ = ["fake_globus", "fake_globus_clock", "fake_globus_route", "fake_globus_server"]


@pytest.fixture
def fake_globus_clock() -> FakeClock:
    """The clock of ``fake_globus``: manual, starting now."""
    from ._clock import FakeClock

    return FakeClock()


@pytest.fixture
def fake_globus_route(request: pytest.FixtureRequest) -> str:
    """How ``fake_globus``'s clients reach it: ``"inprocess"`` unless parametrized."""
    from ._routes import ROUTES

    route = str(getattr(request, "param", "inprocess"))
    if route not in ROUTES:
        raise pytest.UsageError(f"fake_globus_route must be one of {ROUTES}, not {route!r}")
    return route


@pytest.fixture(scope="session")
def fake_globus_server() -> Iterator[LoopbackServer]:
    """One uvicorn server on 127.0.0.1 for the session; each test mounts its own emulator."""
    from ._routes import LoopbackServer

    with LoopbackServer.running() as server:
        yield server


@pytest.fixture
def fake_globus(
    request: pytest.FixtureRequest, fake_globus_route: str, fake_globus_clock: FakeClock
) -> Iterator[FakeGlobus]:
    """A fresh `FakeGlobus` on ``fake_globus_clock`` whose ready clients reach it by
    ``fake_globus_route``."""
    from ._routes import RoutedFake

    if fake_globus_route == "inprocess":
        yield RoutedFake(fake_globus_clock, None)
        return
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    # A proxy in the environment would send the client through httpx instead of its own pool.
    for name in list(os.environ):
        if name.lower() in ("http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.delenv(name)
    server: LoopbackServer = request.getfixturevalue("fake_globus_server")
    yield RoutedFake(fake_globus_clock, server)
    server.unmount_all()
