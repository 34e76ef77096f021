"""How a test's clients reach its emulator (the ``fake_globus`` fixture's routes).

``inprocess`` hands each request straight to the emulator's ASGI app. ``loopback`` gives the
client no transport at all, so it makes its own connection pool (the path users get) and
talks to the emulator served by uvicorn on 127.0.0.1. One server serves the whole session:
each test's emulator is mounted under a path prefix of its own, so its state is fresh, its
manual clock stays in the test's hands, and a late request of an earlier test can never
reach it.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from .._auth import Authorizer
from .._http.httpx_sender import asgi_transport
from ..flows import FlowsClient
from ..timers import TimersClient
from ._clock import FakeClock
from ._fake import DEFAULT, FakeGlobus, _Default
from ._serve import LOOPBACK, _listen, _origin

__all__ = ["ROUTES", "LoopbackServer", "RoutedFake"]

ROUTES = ("inprocess", "loopback")


class LoopbackServer:
    """uvicorn on 127.0.0.1 in a background thread, serving each mounted app under its prefix.

    The prefix is stripped before the app sees the request, so an app answers exactly as it
    would at the root of its own server.
    """

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self._apps: dict[str, ASGIApp] = {}
        self._numbers = itertools.count(1)

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[LoopbackServer]:
        """Serve until the block exits."""
        sock = _listen(LOOPBACK, 0)
        server = cls(_origin(sock))
        config = uvicorn.Config(
            server,
            log_level="warning",
            access_log=False,
            lifespan="off",
            # Longer than any test: an idle connection is never closed under a client mid-test.
            timeout_keep_alive=300,
        )
        runner = uvicorn.Server(config)
        thread = threading.Thread(target=runner.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            yield server
        finally:
            runner.should_exit = True
            thread.join(timeout=10)
            sock.close()

    def mount(self, app: ASGIApp) -> str:
        """Serve ``app`` under a new prefix; returns the origin to give its clients."""
        prefix = f"/app{next(self._numbers)}"
        self._apps[prefix] = app
        return self.origin + prefix

    def unmount_all(self) -> None:
        """Forget every mounted app (their requests are answered 404 from now on)."""
        self._apps.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        prefix = "/" + scope["path"].split("/", 2)[1]
        app = self._apps.get(prefix)
        if scope["type"] != "http" or app is None:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"no such app"})
            return
        path = scope["path"][len(prefix) :]
        raw_path = scope.get("raw_path") or scope["path"].encode()
        inner = dict(scope, path=path, raw_path=raw_path[len(prefix) :])
        await app(inner, receive, send)


class RoutedFake(FakeGlobus):
    """A `FakeGlobus` whose ready clients reach it by the test's route.

    ``flows_client`` and ``timers_client`` also take ``app``: an ASGI app in front of the
    emulator (one that loses answers, say) that these clients talk to instead.
    """

    def __init__(self, clock: FakeClock, server: LoopbackServer | None) -> None:
        super().__init__(clock=clock)
        self.route = "inprocess" if server is None else "loopback"
        self._server = server
        if server is not None:
            self.origin = server.mount(self.app)

    def flows_client(
        self,
        *,
        authorizer: str | Authorizer | _Default | None = DEFAULT,
        app: ASGIApp | None = None,
        **options: Any,
    ) -> FlowsClient:
        """A Flows client on this emulator (or on ``app`` in front of it), by the route."""
        if self._server is None and app is None:
            return super().flows_client(authorizer=authorizer, **options)
        urls, connection = self._connection(app)
        return FlowsClient(
            authorizer=self.token if isinstance(authorizer, _Default) else authorizer,
            base_url=urls["flows_url"],
            **connection,
            **options,
        )

    def timers_client(
        self,
        *,
        authorizer: str | Authorizer | _Default | None = DEFAULT,
        app: ASGIApp | None = None,
        **options: Any,
    ) -> TimersClient:
        """A Timers client on this emulator (or on ``app`` in front of it), by the route."""
        if self._server is None and app is None:
            return super().timers_client(authorizer=authorizer, **options)
        urls, connection = self._connection(app)
        return TimersClient(
            authorizer=self.token if isinstance(authorizer, _Default) else authorizer,
            base_url=urls["timers_url"],
            flows_base_url=urls["flows_url"],
            **connection,
            **options,
        )

    def _connection(self, app: ASGIApp | None) -> tuple[dict[str, str], dict[str, Any]]:
        """The service URLs reaching ``app`` (default: the emulator) and the client options
        for the route: an in-process transport, or none (the client's own pool)."""
        if self._server is None:
            return self.urls(), {"transport": asgi_transport(app or self.app)}
        if app is None:
            return self.urls(), {}
        return self.urls(self._server.mount(app)), {}
