"""Renewing authorizers own the connection pool they open for the token endpoint.

It is opened at the first renewal, closed by ``async with`` / ``aclose()`` and by the service
client the authorizer was given to, and opened again by a later renewal. A given
``http_client`` is never closed. Over loopback, on the library's own pool.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest

from globus_runs import ClientCredentialsAuthorizer, FlowsClient, TimersClient
from globus_runs._http.attempts import ServiceCaller as Transport
from globus_runs.testing import FakeClock, FakeGlobus, serve_in_thread
from tests.auth._support import FLOWS, FLOWS_ALL

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeGlobus, dict[str, Any], tuple[str, str]]]:
    fake = FakeGlobus(clock=FakeClock(realtime=True))
    client = fake.add_client()
    with serve_in_thread(fake) as info:
        yield fake, info, client


def authorizer_of(
    served: tuple[FakeGlobus, dict[str, Any], tuple[str, str]], **options: Any
) -> ClientCredentialsAuthorizer:
    _, info, (client_id, secret) = served
    return ClientCredentialsAuthorizer(
        client_id, secret, [FLOWS_ALL], auth_url=info["auth_url"], **options
    )


def pool_of(authorizer: ClientCredentialsAuthorizer) -> Transport:
    assert authorizer._http is not None
    return authorizer._http


def test_building_a_renewing_authorizer_opens_nothing(
    served: tuple[FakeGlobus, dict[str, Any], tuple[str, str]],
) -> None:
    assert authorizer_of(served)._http is None


async def test_async_with_closes_the_pool_the_authorizer_opened(
    served: tuple[FakeGlobus, dict[str, Any], tuple[str, str]],
) -> None:
    async with authorizer_of(served) as authorizer:
        assert (await authorizer.get_authorization_header(FLOWS) or "").startswith("Bearer ")
        opened = pool_of(authorizer)
        assert not opened.http_client.is_closed
    assert opened.http_client.is_closed
    assert authorizer._http is None


async def test_closing_the_service_client_closes_the_authorizers_pool(
    served: tuple[FakeGlobus, dict[str, Any], tuple[str, str]],
) -> None:
    _, info, _ = served
    authorizer = authorizer_of(served)
    async with FlowsClient(authorizer=authorizer, base_url=info["flows_url"]) as flows:
        await flows.list_runs()
        opened = pool_of(authorizer)
    assert opened.http_client.is_closed
    assert authorizer._http is None


async def test_a_closed_authorizer_opens_a_new_pool_at_its_next_renewal(
    served: tuple[FakeGlobus, dict[str, Any], tuple[str, str]],
) -> None:
    _, info, _ = served
    authorizer = authorizer_of(served)
    async with TimersClient(authorizer=authorizer, base_url=info["timers_url"]):
        header = await authorizer.get_authorization_header(FLOWS)
    assert authorizer._http is None
    # A second client of another lifetime: the authorizer renews on its own new pool.
    async with FlowsClient(authorizer=authorizer, base_url=info["flows_url"]) as flows:
        assert await authorizer.handle_unauthorized(FLOWS, header)
        assert authorizer.renewals == 2
        assert not pool_of(authorizer).http_client.is_closed
        await flows.list_runs()
    assert authorizer._http is None


async def test_a_given_http_client_is_left_open(
    served: tuple[FakeGlobus, dict[str, Any], tuple[str, str]],
) -> None:
    _, info, _ = served
    async with httpx.AsyncClient() as http:
        authorizer = authorizer_of(served, http_client=http)
        async with FlowsClient(authorizer=authorizer, base_url=info["flows_url"]) as flows:
            await flows.list_runs()
        await authorizer.aclose()
        assert not http.is_closed
        assert (await authorizer.handle_unauthorized(FLOWS, None)) is True  # still usable


class _GatedTokenEndpoint(BaseHTTPRequestHandler):
    """Grants a Flows token, but only once ``gate`` is set; ``arrived`` says a request came."""

    protocol_version = "HTTP/1.1"
    arrived: threading.Event
    gate: threading.Event

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.arrived.set()
        self.gate.wait(30)
        grant = {"access_token": "granted-token", "resource_server": FLOWS, "expires_in": 3600}
        body = json.dumps(grant).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


async def test_closing_during_a_renewal_lets_it_finish_then_closes_the_pool() -> None:
    arrived, gate = threading.Event(), threading.Event()
    handler = type("Gated", (_GatedTokenEndpoint,), {"arrived": arrived, "gate": gate})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        authorizer = ClientCredentialsAuthorizer(
            "client",
            "client-secret",
            [FLOWS_ALL],
            auth_url=f"http://127.0.0.1:{server.server_port}",
        )
        headers: list[str | None] = []
        async with anyio.create_task_group() as group:

            async def renew() -> None:
                headers.append(await authorizer.get_authorization_header(FLOWS))

            group.start_soon(renew)
            await anyio.to_thread.run_sync(arrived.wait, 30)
            in_flight = pool_of(authorizer)
            await authorizer.aclose()  # the renewal is under way: its pool stays open for it
            assert authorizer._http is None
            assert not in_flight.http_client.is_closed
            gate.set()
        assert headers == ["Bearer granted-token"]
        assert in_flight.http_client.is_closed  # closed by the renewal as it ended
        assert authorizer.renewals == 1
    finally:
        gate.set()
        server.shutdown()
        server.server_close()
        thread.join()
