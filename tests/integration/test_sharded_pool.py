"""The connection pool a client makes for itself.

On asyncio its requests go through the pool's own HTTP/1.1 connections (``globus_runs._h1``);
on trio through small httpcore pools ("shards"), opened as needed.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx
import pytest

from globus_runs import ConnectError, FlowsClient, RetryPolicy, TimersClient
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
    assert pool._pick() == 0
    pool._busy[0] = 4
    assert pool._pick() == 1
    pool._busy[1] = 3
    assert pool._pick() == 1
    pool._busy[1] = 4
    assert pool._pick() == 2
    # Three shards of four hold the ten connections: no fourth one.
    pool._busy[:] = [6, 5, 4]
    assert pool._pick() == 2
    assert len(pool._shards) == 3


async def test_a_batch_opens_connections_for_its_concurrency_and_releases_them(
    server: tuple[FakeGlobus, dict[str, Any], list[str]], anyio_backend: Any
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
        if anyio_backend[0] == "asyncio":
            assert pool._h1 is not None
            assert pool._h1.connections == 24
            assert pool._h1.idle == 24
            assert pool._busy == [0]  # the shards are not used
        else:
            assert pool._h1 is None
            assert len(pool._shards) == 6
            assert pool._busy == [0] * 6


async def test_sequential_requests_reuse_one_connection(
    server: tuple[FakeGlobus, dict[str, Any], list[str]], anyio_backend: Any
) -> None:
    _, info, run_ids = server
    async with FlowsClient(authorizer=info["token"], base_url=info["flows_url"]) as flows:
        for run_id in run_ids[:5]:
            await flows.get_run(run_id)
        pool = _pool(flows)
        assert len(pool._shards) == 1
        if anyio_backend[0] == "asyncio":
            assert pool._h1 is not None
            assert pool._h1.connections == 1
        else:
            assert len(pool._shards[0]._pool.connections) == 1


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
        assert pool._busy == [0] * len(pool._shards)
        h1 = pool._h1
        if h1 is not None:  # asyncio: the cancelled requests' connections were dropped
            assert h1.connections == h1.idle
            assert not h1._waiters
        results = await flows.batch_get_runs(run_ids[:20])
        assert all(result.ok for result in results)
        assert pool._busy == [0] * len(pool._shards)
        if h1 is not None:
            assert 1 <= h1.connections == h1.idle <= 16


async def test_a_failed_connection_is_released() -> None:
    with refused_port() as port:
        async with FlowsClient(
            authorizer="t", base_url=f"http://127.0.0.1:{port}", retry=RetryPolicy(max_retries=0)
        ) as flows:
            with pytest.raises(ConnectError):
                await flows.get_run("r1")
            assert _pool(flows)._busy == [0]


async def test_the_pool_size_is_known_to_clients_sharing_it() -> None:
    async with TimersClient(authorizer="t", concurrency=30) as timers:
        flows = timers.flows
        assert _pool_size(flows._transport.http_client) == 100
        assert flows._transport.http_client is timers._transport.http_client
    async with httpx.AsyncClient(transport=ShardedPool(7)) as http:
        assert _pool_size(http) == 7


async def test_a_pooled_client_shares_a_sharded_pool_and_bounds_batches() -> None:
    from globus_runs._transport import pooled_client

    async with pooled_client(32) as http:
        assert isinstance(http._transport, ShardedPool)
        assert _pool_size(http) == 32
        flows = FlowsClient(authorizer="t", http_client=http, concurrency=64)
        assert flows._concurrency(None) == 32
        await flows.aclose()
        assert not http.is_closed
