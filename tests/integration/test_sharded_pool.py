"""The connection pool a client makes for itself.

Its requests go through the pool's own HTTP/1.1 connections (``globus_runs._h1``); requests
that come through ``httpx.AsyncClient`` through small httpx pools ("shards"), opened as needed.
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
    RetryPolicy,
    TimersClient,
    pooled_http_client,
)
from globus_runs._transport import ShardedPool, _pool_size
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


def _pool(flows: FlowsClient) -> ShardedPool:
    pool = flows._transport.http_client._transport
    assert isinstance(pool, ShardedPool)
    return pool


def test_first_free_shard_then_a_new_one_then_the_least_busy() -> None:
    pool = ShardedPool(10, shard_size=4)
    shards = pool._shards
    assert shards.pick() == 0
    shards.busy[0] = 4
    assert shards.pick() == 1
    shards.busy[1] = 3
    assert shards.pick() == 1
    shards.busy[1] = 4
    assert shards.pick() == 2
    # Three shards of four hold the ten connections: no fourth one.
    shards.busy[:] = [6, 5, 4]
    assert shards.pick() == 2
    assert len(shards.pools) == 3


def test_building_a_pool_opens_nothing() -> None:
    pool = ShardedPool(100)
    assert pool._shards.pools == []
    assert pool._h1 is None


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
        assert pool._shards.pools == []  # httpx.AsyncClient's path is not taken
        assert pool._h1 is not None
        assert pool._h1.connections == 24
        assert pool._h1.idle == 24


async def test_sequential_requests_reuse_one_connection(
    server: tuple[FakeGlobus, dict[str, Any], list[str]],
) -> None:
    _, info, run_ids = server
    async with FlowsClient(authorizer=info["token"], base_url=info["flows_url"]) as flows:
        for run_id in run_ids[:5]:
            await flows.get_run(run_id)
        pool = _pool(flows)
        assert pool._h1 is not None
        assert pool._h1.connections == 1


async def test_a_cancelled_batch_leaves_nothing_busy_and_the_client_works(
    server: tuple[FakeGlobus, dict[str, Any], list[str]],
) -> None:
    _, info, run_ids = server
    async with FlowsClient(
        authorizer=info["token"], base_url=info["flows_url"], concurrency=16
    ) as flows:
        with anyio.move_on_after(0.03):
            await flows.batch_get_runs(run_ids)
        pool = _pool(flows)
        h1 = pool._h1
        assert h1 is not None
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
            pool = _pool(flows)
            assert pool._h1 is not None
            assert pool._h1.connections == 0


async def test_the_pool_size_is_known_to_clients_sharing_it() -> None:
    async with TimersClient(authorizer="t", concurrency=30) as timers:
        flows = timers.flows
        assert _pool_size(flows._transport.http_client) == 100
        assert flows._transport.http_client is timers._transport.http_client
    async with httpx.AsyncClient(transport=ShardedPool(7)) as http:
        assert _pool_size(http) == 7


async def test_a_pooled_http_client_shares_a_sharded_pool_and_bounds_batches() -> None:
    async with pooled_http_client(32) as http:
        assert isinstance(http._transport, ShardedPool)
        assert _pool_size(http) == 32
        flows = FlowsClient(authorizer="t", http_client=http, concurrency=64)
        assert flows._concurrency(None) == 32
        assert flows._transport._direct is not None
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
        pool = http._transport
        assert isinstance(pool, ShardedPool)
        assert pool._h1 is not None
        assert pool._h1.connections == 1
    assert http.is_closed


async def test_a_plain_httpx_client_is_used_through_httpx(
    server: tuple[FakeGlobus, dict[str, Any], list[str]],
) -> None:
    _, info, run_ids = server
    async with httpx.AsyncClient() as http:
        flows = FlowsClient(authorizer=info["token"], base_url=info["flows_url"], http_client=http)
        assert flows._transport._direct is None
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
        assert (flows._transport._direct is not None) is direct
        assert isinstance(flows._transport.http_client._transport, ShardedPool) is direct
        assert flows._concurrency(None) == 150  # the pool is sized to the concurrency either way


async def test_a_pooled_http_client_under_a_proxy_is_plain_httpx(
    no_proxies: pytest.MonkeyPatch,
) -> None:
    no_proxies.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    async with pooled_http_client(12) as http:
        assert not isinstance(http._transport, ShardedPool)
        assert _pool_size(http) == 12


async def test_a_client_with_hooks_on_the_pool_goes_through_httpx_and_its_shards(
    server: tuple[FakeGlobus, dict[str, Any], list[str]],
) -> None:
    _, info, run_ids = server
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.url.path)

    pool = ShardedPool(8, shard_size=2)
    async with httpx.AsyncClient(transport=pool, event_hooks={"request": [hook]}) as http:
        flows = FlowsClient(
            authorizer=info["token"], base_url=info["flows_url"], http_client=http, concurrency=4
        )
        assert flows._transport._direct is None  # the hook must see every request
        results = await flows.batch_get_runs(run_ids[:8])
        assert all(result.ok for result in results)
        assert len(seen) == 8
        assert len(pool._shards.pools) == 2
        assert pool._shards.busy == [0, 0]
        assert pool._h1 is None


def test_a_client_used_in_a_second_trio_run_closes_the_first_runs_connections(
    server: tuple[FakeGlobus, dict[str, Any], list[str]],
) -> None:
    _, info, run_ids = server
    flows = FlowsClient(authorizer=info["token"], base_url=info["flows_url"])

    async def fetch() -> None:
        assert (await flows.get_run(run_ids[0])).run_id == run_ids[0]

    anyio.run(fetch, backend="trio")
    first = _pool(flows)._h1
    assert first is not None
    (connection,) = first._open
    assert not connection.closed
    anyio.run(fetch, backend="trio")
    # The first run's pool was left behind, its socket closed (no ResourceWarning later).
    assert _pool(flows)._h1 is not first
    assert connection.closed
    second = _pool(flows)._h1
    anyio.run(flows.aclose, backend="trio")
    assert second is not None
    assert second.connections == 0
