"""The connection pool a client makes for itself, and the one of ``pooled_http_client()``.

The library's requests go straight to the pool's HTTP/1.1 connections (``globus_runs._http``);
requests that come through ``httpx.AsyncClient`` reach the same connections through its httpx
transport (``PoolTransport``).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx
import pytest

from globus_runs import (
    ConfigurationError,
    ConnectError,
    FlowsClient,
    InvalidRequestError,
    RetryPolicy,
    TimersClient,
    pooled_http_client,
)
from globus_runs._http import pool_errors
from globus_runs._http.clients import _MADE
from globus_runs._http.clients import pool_size as _pool_size
from globus_runs._http.pool import H1Pool
from globus_runs._http.pool_sender import PoolSender, PoolTransport
from globus_runs.testing import FakeClock, FakeGlobus, serve_in_thread

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[FakeGlobus, dict[str, Any], list[str]]]:
    """An emulator in a server thread, 20 ms per answer, with 100 long runs."""
    fake = FakeGlobus(clock=FakeClock(realtime=True))
    flow_id = fake.add_flow(duration=1e6)
    run_ids = fake.add_runs(flow_id, 100)
    fake.latency = 0.02
    with serve_in_thread(fake) as info:
        yield fake, info, run_ids


@contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port bound but not listening: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def _transport_of(http: httpx.AsyncClient) -> PoolTransport:
    pool = _MADE[http].pool
    assert isinstance(pool, PoolTransport)
    return pool


def _h1(http: httpx.AsyncClient) -> H1Pool:
    h1 = _transport_of(http).pool
    assert h1 is not None
    return h1


def _pool(flows: FlowsClient) -> H1Pool:
    return _h1(flows._transport.http_client)


def test_building_a_client_opens_no_pool() -> None:
    flows = FlowsClient(authorizer="t")
    assert _transport_of(flows._transport.http_client).pool is None


async def test_a_batch_opens_connections_for_its_concurrency_and_releases_them(
    server: tuple[FakeGlobus, dict[str, Any], list[str]],
) -> None:
    fake, info, run_ids = server
    async with FlowsClient(
        authorizer=info["token"], base_url=info["flows_url"], concurrency=24
    ) as flows:
        fake.reset_stats()
        results = await flows.batch_get_runs(run_ids[:60])
        pool = _pool(flows)
        assert all(result.ok for result in results)
        assert fake.max_in_flight == 24
        assert pool.connections == 24
        assert pool.idle == 24


async def test_sequential_requests_reuse_one_connection(
    server: tuple[FakeGlobus, dict[str, Any], list[str]],
) -> None:
    _, info, run_ids = server
    async with FlowsClient(authorizer=info["token"], base_url=info["flows_url"]) as flows:
        for run_id in run_ids[:5]:
            await flows.get_run(run_id)
        assert _pool(flows).connections == 1


async def test_a_cancelled_batch_leaves_nothing_busy_and_the_client_works(
    server: tuple[FakeGlobus, dict[str, Any], list[str]],
) -> None:
    _, info, run_ids = server
    async with FlowsClient(
        authorizer=info["token"], base_url=info["flows_url"], concurrency=16
    ) as flows:
        with anyio.move_on_after(0.03):
            await flows.batch_get_runs(run_ids)
        h1 = _pool(flows)
        # The cancelled requests' connections were dropped, the others are idle.
        assert h1.connections == h1.idle
        assert not h1._waiters
        results = await flows.batch_get_runs(run_ids[:20])
        assert all(result.ok for result in results)
        assert 1 <= h1.connections == h1.idle <= 16


async def test_a_failed_connection_is_released() -> None:
    with refused_port() as port:
        async with FlowsClient(
            authorizer="t", base_url=f"http://127.0.0.1:{port}", retry=RetryPolicy(max_retries=0)
        ) as flows:
            with pytest.raises(ConnectError):
                await flows.get_run("00000000-0000-4000-8000-000000000001")
            assert _pool(flows).connections == 0


async def test_the_pool_size_is_known_to_clients_sharing_it() -> None:
    async with TimersClient(authorizer="t", concurrency=30) as timers:
        flows = timers.flows
        assert _pool_size(flows._transport.http_client) == 100
        assert flows._transport.http_client is timers._transport.http_client
    async with httpx.AsyncClient() as http:
        assert _pool_size(http) is None  # a client of the caller's: its insides are not read


async def test_a_pooled_http_client_is_on_the_pool_and_bounds_batches() -> None:
    async with pooled_http_client(32) as http:
        assert _transport_of(http).max_connections == 32
        assert _pool_size(http) == 32
        flows = FlowsClient(authorizer="t", http_client=http, concurrency=64)
        assert flows._concurrency(None) == 32
        assert isinstance(flows._transport.sender, PoolSender)
        await flows.aclose()
        assert not http.is_closed


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "8"])
def test_a_pooled_http_client_needs_a_positive_size(bad: Any) -> None:
    with pytest.raises(ConfigurationError):
        pooled_http_client(bad)


async def test_clients_on_one_pooled_http_client_share_its_connections(
    server: tuple[FakeGlobus, dict[str, Any], list[str]],
) -> None:
    _, info, run_ids = server
    async with pooled_http_client(8) as http:
        for _ in range(3):  # three clients in turn, as three requests of a service would
            async with FlowsClient(
                authorizer=info["token"], base_url=info["flows_url"], http_client=http
            ) as flows:
                assert (await flows.get_run(run_ids[0])).run_id == run_ids[0]
        assert _h1(http).connections == 1
    assert http.is_closed


async def test_a_plain_httpx_client_is_used_through_httpx(
    server: tuple[FakeGlobus, dict[str, Any], list[str]],
) -> None:
    _, info, run_ids = server
    async with httpx.AsyncClient() as http:
        flows = FlowsClient(authorizer=info["token"], base_url=info["flows_url"], http_client=http)
        assert not isinstance(flows._transport.sender, PoolSender)
        assert (await flows.get_run(run_ids[0])).run_id == run_ids[0]


PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy variables in the environment; set some with the returned monkeypatch."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("environment", "direct"),
    [
        ({"HTTPS_PROXY": "http://127.0.0.1:9"}, False),
        ({"all_proxy": "http://127.0.0.1:9"}, False),
        ({"HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "flows.automate.globus.org"}, True),
        ({"HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ".globus.org"}, True),
        ({"HTTP_PROXY": "http://127.0.0.1:9"}, True),  # only for http:// URLs
        ({}, True),
    ],
)
async def test_a_proxy_from_the_environment_keeps_requests_on_httpx(
    no_proxies: pytest.MonkeyPatch, environment: dict[str, str], direct: bool
) -> None:
    for name, value in environment.items():
        no_proxies.setenv(name, value)
    async with FlowsClient(authorizer="t", concurrency=150) as flows:
        assert isinstance(flows._transport.sender, PoolSender) is direct
        assert (_MADE[flows._transport.http_client].pool is not None) is direct
        assert flows._concurrency(None) == 150  # the pool is sized to the concurrency either way


async def test_a_pooled_http_client_under_a_proxy_is_plain_httpx(
    no_proxies: pytest.MonkeyPatch,
) -> None:
    no_proxies.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    async with pooled_http_client(12) as http:
        assert _MADE[http].pool is None
        assert _pool_size(http) == 12


async def test_a_pooled_client_with_hooks_goes_through_httpx_to_the_same_connections(
    server: tuple[FakeGlobus, dict[str, Any], list[str]],
) -> None:
    _, info, run_ids = server
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.url.path)

    async with pooled_http_client(4) as http:
        http.event_hooks = {"request": [hook]}
        flows = FlowsClient(
            authorizer=info["token"], base_url=info["flows_url"], http_client=http, concurrency=8
        )
        # The hook must see every request.
        assert not isinstance(flows._transport.sender, PoolSender)
        results = await flows.batch_get_runs(run_ids[:8])
        assert [result.value.run_id for result in results if result.value] == run_ids[:8]
        prefix = httpx.URL(info["flows_url"]).path.rstrip("/")
        assert sorted(seen) == sorted(f"{prefix}/runs/{run_id}" for run_id in run_ids[:8])
        assert 1 <= _h1(http).connections == _h1(http).idle <= 4


async def test_other_code_on_a_pooled_client_shares_the_librarys_connections(
    server: tuple[FakeGlobus, dict[str, Any], list[str]],
) -> None:
    _, info, run_ids = server
    async with pooled_http_client(8) as http:
        flows = FlowsClient(authorizer=info["token"], base_url=info["flows_url"], http_client=http)
        assert (await flows.get_run(run_ids[0])).run_id == run_ids[0]
        answer = await http.get(
            f"{info['flows_url'].rstrip('/')}/runs/{run_ids[1]}",
            headers={"Authorization": f"Bearer {info['token']}"},
        )
        assert answer.status_code == 200
        assert answer.json()["run_id"] == run_ids[1]
        assert _h1(http).connections == 1  # the same keep-alive connection, both ways in


async def test_a_pooled_client_raises_httpx_errors_chained_to_the_pools() -> None:
    with refused_port() as port:
        async with pooled_http_client(2) as http:
            with pytest.raises(httpx.ConnectError) as caught:
                await http.get(f"http://127.0.0.1:{port}/runs/r1")
    assert isinstance(caught.value.__cause__, pool_errors.ConnectError)


def test_a_client_used_in_a_second_trio_run_closes_the_first_runs_connections(
    server: tuple[FakeGlobus, dict[str, Any], list[str]],
) -> None:
    _, info, run_ids = server
    flows = FlowsClient(authorizer=info["token"], base_url=info["flows_url"])

    async def fetch() -> None:
        assert (await flows.get_run(run_ids[0])).run_id == run_ids[0]

    anyio.run(fetch, backend="trio")
    first = _pool(flows)
    # The first run's connections closed as it ended (no ResourceWarning later).
    assert first.connections == 0
    anyio.run(fetch, backend="trio")
    assert _pool(flows) is not first
    second = _pool(flows)
    anyio.run(flows.aclose, backend="trio")
    assert second.connections == 0


async def test_a_closed_pool_opens_no_new_connection() -> None:
    flows = FlowsClient(authorizer="t")
    await flows.aclose()
    with pytest.raises(InvalidRequestError, match="the HTTP client is closed") as caught:
        await flows.get_run("00000000-0000-4000-8000-000000000001")
    assert caught.value.attempts == 1  # not retried: nothing can change it
    assert _transport_of(flows._transport.http_client).pool is None


async def test_a_closed_pool_transport_refuses_requests_from_other_code() -> None:
    async with pooled_http_client(2) as http:
        pass
    with pytest.raises(httpx.ConnectError, match="the connection pool is closed"):
        await _transport_of(http).handle_async_request(httpx.Request("GET", "http://127.0.0.1:9/"))


async def test_the_own_pools_connect_error_is_chained_to_the_pools() -> None:
    with refused_port() as port:
        async with FlowsClient(
            authorizer="tok-SECRET-77",
            base_url=f"http://127.0.0.1:{port}",
            retry=RetryPolicy.disabled(),
        ) as flows:
            with pytest.raises(ConnectError) as caught:
                await flows.get_run("36ad9f9a-ad29-488f-beb4-c22ab729643a")
    assert isinstance(caught.value.__cause__, pool_errors.ConnectError)
