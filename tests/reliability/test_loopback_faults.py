"""Cancelled batches over real loopback sockets, with faults injected, leave the pool usable.

Each test runs on a plain ``httpx.AsyncClient`` and on ``pooled_http_client`` (the library's
own pool and its own HTTP/1.1 connections).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from globus_runs import FlowsClient, GlobusRunsError, RetryPolicy, RunStatus, pooled_http_client
from globus_runs.testing import FakeGlobus, serve_in_thread

pytestmark = pytest.mark.anyio

POOL = 4


@pytest.fixture(params=["httpx", "pooled"])
def http_client(request: pytest.FixtureRequest) -> httpx.AsyncClient:
    """A client of ``POOL`` connections, 5 s timeouts: plain httpx, or the library's pool."""
    if request.param == "httpx":
        limits = httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL)
        return httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(5.0))
    return pooled_http_client(POOL, timeout=5.0)


@pytest.fixture
def served(fake: FakeGlobus) -> Iterator[dict[str, Any]]:
    """``fake`` served from a background thread for one test."""
    with serve_in_thread(fake) as info:
        yield info


async def test_cancelled_faulty_batches_leave_every_pool_slot_usable(
    fake: FakeGlobus,
    flow_id: str,
    served: dict[str, Any],
    quick: RetryPolicy,
    http_client: httpx.AsyncClient,
) -> None:
    run_ids = fake.add_runs(flow_id, 60)
    fake.faults.seed(7)
    fake.faults.add("slow", probability=0.3, delay=1.0)
    fake.faults.add("reset_before", probability=0.15)
    fake.faults.add("reset_after", probability=0.15)
    fake.faults.add("503", probability=0.15)
    async with http_client as http:
        flows = FlowsClient(
            authorizer=fake.token, base_url=served["flows_url"], http_client=http, retry=quick
        )
        for _ in range(3):
            with anyio.move_on_after(0.3) as scope:
                await flows.batch_get_runs(run_ids, concurrency=POOL)
            assert scope.cancelled_caught
        faulty = fake.faults.fired
        fake.faults.clear()
        # Every slot is free again: a batch as wide as the pool completes promptly.
        with anyio.fail_after(10):
            results = await flows.batch_get_runs(run_ids[: 4 * POOL], concurrency=POOL)
    assert faulty > 0
    assert [r.unwrap().status for r in results] == [RunStatus.ACTIVE] * (4 * POOL)


async def test_a_faulty_batch_over_sockets_gives_one_typed_result_per_item(
    fake: FakeGlobus,
    flow_id: str,
    served: dict[str, Any],
    quick: RetryPolicy,
    http_client: httpx.AsyncClient,
) -> None:
    run_ids = fake.add_runs(flow_id, 40)
    fake.faults.seed(11)
    for kind in ("reset_before", "reset_after", "truncated", "502"):
        fake.faults.add(kind, probability=0.05)
    async with http_client as http:
        flows = FlowsClient(
            authorizer=fake.token, base_url=served["flows_url"], http_client=http, retry=quick
        )
        with anyio.fail_after(20):
            results = await flows.batch_get_runs(run_ids, concurrency=8)
    assert [r.input for r in results] == run_ids
    assert all(r.ok or isinstance(r.error, GlobusRunsError) for r in results)
    assert fake.faults.fired > 0
