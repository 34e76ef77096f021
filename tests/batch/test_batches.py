"""Batch operations: order, per-item errors, bounded concurrency, cancellation."""

from __future__ import annotations

import anyio
import pytest

from globus_runs import (
    FlowNotFoundError,
    FlowsClient,
    InvalidIdError,
    InvalidRequestError,
    RunNotFoundError,
    RunRequest,
    RunStatus,
)
from globus_runs.testing import FakeGlobus

from .._conditions import wait_until

pytestmark = pytest.mark.anyio

MISSING = "00000000-0000-4000-8000-000000000404"


async def test_batch_run_flows_in_input_order_with_per_item_errors(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=1000.0)
    requests = [RunRequest(flow_id, {"i": i}, label=f"run {i}") for i in range(20)]
    requests[5] = RunRequest(MISSING, {"i": 5})
    requests[9] = RunRequest("bad/id", {"i": 9})
    results = await flows.batch_run_flows(requests)
    assert [r.index for r in results] == list(range(20))
    assert [r.input for r in results] == requests
    assert isinstance(results[5].error, FlowNotFoundError)
    assert isinstance(results[9].error, InvalidIdError)
    for i, result in enumerate(results):
        if i in (5, 9):
            assert not result.ok
            continue
        run = result.unwrap()
        assert run.label == f"run {i}"
        assert fake.runs[run.run_id] is not None
    assert len(fake.runs) == 18


async def test_batch_get_and_cancel_in_input_order(fake: FakeGlobus, flows: FlowsClient) -> None:
    flow_id = fake.add_flow(duration=1000.0)
    run_ids = fake.add_runs(flow_id, 30)
    asked = [*run_ids[:10], MISSING, *run_ids[10:]]
    got = await flows.batch_get_runs(asked)
    assert [r.input for r in got] == asked
    assert isinstance(got[10].error, RunNotFoundError)
    assert [r.unwrap().run_id for r in got if r.ok] == run_ids

    canceled = await flows.batch_cancel_runs(asked)
    assert isinstance(canceled[10].error, RunNotFoundError)
    assert all(r.unwrap().was_canceled for r in canceled if r.ok)
    assert sum(r.ok for r in canceled) == 30


async def test_in_flight_requests_reach_but_never_exceed_the_bound(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=1000.0)
    run_ids = fake.add_runs(flow_id, 60)
    fake.latency = 0.01
    fake.reset_stats()
    results = await flows.batch_get_runs(run_ids, concurrency=6)
    assert all(r.ok for r in results)
    assert fake.max_in_flight == 6
    fake.reset_stats()
    await flows.batch_get_runs(run_ids)  # the client's default: 8
    assert fake.max_in_flight == 8


async def test_cancelling_a_batch_returns_promptly_and_the_client_keeps_working(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=1000.0)
    run_ids = fake.add_runs(flow_id, 200)
    fake.latency = 0.05
    with anyio.move_on_after(0.12) as scope:
        await flows.batch_get_runs(run_ids, concurrency=4)
    assert scope.cancelled_caught
    await wait_until(lambda: fake.in_flight == 0)  # the server sees every request end
    assert len(fake.requests) < 40
    fake.latency = 0.0
    assert (await flows.get_run(run_ids[0])).status == RunStatus.ACTIVE


async def test_streamed_results_cover_every_input_once(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=1000.0)
    run_ids = fake.add_runs(flow_id, 50)
    fake.latency = 0.002
    seen: dict[int, str] = {}
    async with flows.stream_get_runs(iter([*run_ids, MISSING]), concurrency=5) as results:
        async for result in results:
            assert result.index not in seen
            seen[result.index] = result.unwrap().run_id if result.ok else "missing"
    assert fake.max_in_flight <= 5
    assert [seen[i] for i in range(51)] == [*run_ids, "missing"]


async def test_streamed_run_flows_and_cancels(fake: FakeGlobus, flows: FlowsClient) -> None:
    flow_id = fake.add_flow(duration=1000.0)
    started: list[str] = []
    requests = (RunRequest(flow_id, {"i": i}) for i in range(12))
    async with flows.stream_run_flows(requests) as results:
        started.extend([r.unwrap().run_id async for r in results])
    assert len(started) == 12
    async with flows.stream_cancel_runs(started) as results:
        assert all([r.unwrap().was_canceled async for r in results])


async def test_a_non_request_in_a_batch_is_that_items_error(flows: FlowsClient) -> None:
    results = await flows.batch_run_flows(["not a request"])  # type: ignore[list-item]
    assert isinstance(results[0].error, InvalidRequestError)
