"""Batches over real sockets with a small connection pool: bounds and cancellation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from globus_runs import FlowsClient, RunStatus
from globus_runs.testing import FakeClock, FakeGlobus, serve_in_thread

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def slow_server() -> Iterator[tuple[FakeGlobus, dict[str, Any], list[str]]]:
    """An emulator in a server thread, 20 ms per answer, with 300 long runs."""
    fake = FakeGlobus(clock=FakeClock(realtime=True))
    flow_id = fake.add_flow(duration=1e6)
    run_ids = fake.add_runs(flow_id, 300)
    fake.latency = 0.02
    with serve_in_thread(fake) as info:
        yield fake, info, run_ids


async def test_batch_is_bounded_by_the_shared_pool(
    slow_server: tuple[FakeGlobus, dict[str, Any], list[str]],
) -> None:
    fake, info, run_ids = slow_server
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=4)) as http:
        flows = FlowsClient(
            authorizer=info["token"], base_url=info["flows_url"], http_client=http, concurrency=32
        )
        fake.reset_stats()
        results = await flows.batch_get_runs(run_ids[:40])
    assert all(result.ok for result in results)
    assert fake.max_in_flight == 4


async def test_cancelled_batch_over_sockets_leaves_the_pool_usable(
    slow_server: tuple[FakeGlobus, dict[str, Any], list[str]],
) -> None:
    _fake, info, run_ids = slow_server
    async with httpx.AsyncClient(
        limits=httpx.Limits(max_connections=4), timeout=httpx.Timeout(5.0)
    ) as http:
        flows = FlowsClient(authorizer=info["token"], base_url=info["flows_url"], http_client=http)
        for _ in range(3):
            with anyio.move_on_after(0.1) as scope:
                await flows.batch_get_runs(run_ids, concurrency=4)
            assert scope.cancelled_caught
        # Every pool slot is still usable: a full-width batch completes.
        with anyio.fail_after(10):
            results = await flows.batch_get_runs(run_ids[:16], concurrency=4)
        assert [r.unwrap().status for r in results] == [RunStatus.ACTIVE] * 16
