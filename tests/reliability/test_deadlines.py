"""Retry-After against the caller's deadline: honoured when it fits, failing fast when not."""

from __future__ import annotations

import time

import anyio
import pytest

from globus_runs import RateLimitError, RetryEvent, RetryPolicy, RunRequest
from globus_runs.testing import FakeGlobus

pytestmark = pytest.mark.anyio

DEADLINE = 40.0
LONG_WAIT = 50.0  # beyond DEADLINE, within the default retry_after_max (60 s)
# "At once": far sooner than the deadline, however loaded the machine.
AT_ONCE = DEADLINE / 2


async def test_a_retry_after_past_the_deadline_fails_a_single_call_at_once(
    fake: FakeGlobus, flow_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    fake.faults.add("429", retry_after=LONG_WAIT)
    async with fake.flows_client() as flows:
        started = time.monotonic()
        with anyio.fail_after(DEADLINE), pytest.raises(RateLimitError) as caught:
            await flows.get_run(run_id)
    assert time.monotonic() - started < AT_ONCE
    assert caught.value.retry_after == LONG_WAIT
    assert len(fake.requests) == 1


async def test_a_retry_after_past_the_deadline_fails_a_batch_item_at_once(
    fake: FakeGlobus, flow_id: str
) -> None:
    run_ids = fake.add_runs(flow_id, 3)
    fake.faults.add("429", route=f"/flows/runs/{run_ids[1]}", retry_after=LONG_WAIT)
    async with fake.flows_client(concurrency=1) as flows:
        started = time.monotonic()
        with anyio.fail_after(DEADLINE):
            results = await flows.batch_get_runs(run_ids)
    assert time.monotonic() - started < AT_ONCE
    assert results[0].ok
    assert isinstance(results[1].error, RateLimitError)
    assert results[1].error.retry_after == LONG_WAIT


async def test_a_pause_past_the_deadline_fails_the_items_not_yet_sent_at_once(
    fake: FakeGlobus, flow_id: str
) -> None:
    # One 429 pauses the whole batch; the items waiting on the pause fail rather than outlive
    # the deadline (which would cancel the batch and lose every result).
    fake.faults.add("429", method="POST", retry_after=LONG_WAIT, count=1)
    requests = [RunRequest(flow_id, {"n": n}) for n in range(20)]
    async with fake.flows_client(concurrency=1) as flows:
        started = time.monotonic()
        with anyio.fail_after(DEADLINE):
            results = await flows.batch_run_flows(requests)
    assert time.monotonic() - started < AT_ONCE
    assert [type(r.error) for r in results] == [RateLimitError] * 20
    assert len(fake.runs) == 0


async def test_a_pause_within_the_deadline_is_waited_out_by_the_whole_batch(
    fake: FakeGlobus, flow_id: str, quick: RetryPolicy
) -> None:
    run_ids = fake.add_runs(flow_id, 10)
    fake.faults.add("429", retry_after=0.2, count=1)
    async with fake.flows_client(retry=quick, concurrency=2) as flows:
        started = time.monotonic()
        with anyio.fail_after(DEADLINE):
            results = await flows.batch_get_runs(run_ids)
    assert time.monotonic() - started >= 0.2
    assert all(result.ok for result in results)


async def test_an_http_date_retry_after_is_slept_in_full(fake: FakeGlobus, flow_id: str) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    fake.faults.add("429", retry_after=0.5, retry_after_http_date=True, count=1)
    events: list[RetryEvent] = []
    async with fake.flows_client(retry=RetryPolicy(on_retry=events.append)) as flows:
        started = time.monotonic()
        run = await flows.get_run(run_id)
    elapsed = time.monotonic() - started
    assert run.run_id == run_id
    [event] = events
    # The date has a one-second resolution, rounded up: the wait is 0.5 s to 1.5 s.
    assert 0.4 <= event.delay <= 1.5
    assert elapsed >= event.delay
    assert [r.fault for r in fake.requests] == ["429", None]


async def test_a_retry_after_beyond_the_policy_pauses_a_batch_only_up_to_its_maximum(
    fake: FakeGlobus, flow_id: str
) -> None:
    # The first item's 429 asks for an hour, more than retry_after_max: that item fails at
    # once, and the pause it puts on the batch is capped at retry_after_max, not an hour.
    run_ids = fake.add_runs(flow_id, 4)
    fake.faults.add("429", route=f"/flows/runs/{run_ids[0]}", retry_after=3600, count=1)
    retry = RetryPolicy(retry_after_max=0.3, backoff_initial=0.001)
    async with fake.flows_client(concurrency=1, retry=retry) as flows:
        started = time.monotonic()
        with anyio.fail_after(60):
            results = await flows.batch_get_runs(run_ids)
        elapsed = time.monotonic() - started
    assert isinstance(results[0].error, RateLimitError)
    assert results[0].error.retry_after == 3600
    assert [result.ok for result in results[1:]] == [True] * 3
    assert 0.3 <= elapsed < 30  # the maximum's 0.3 s, nowhere near an hour
