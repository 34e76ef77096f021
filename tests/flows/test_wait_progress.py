"""``wait_for_runs(on_progress=...)``: what it is told after each poll."""

from __future__ import annotations

import pytest

from globus_runs import FlowsClient, RetryPolicy, WaitProgress
from globus_runs.testing import FakeGlobus

pytestmark = pytest.mark.anyio


async def test_on_progress_is_told_after_each_poll_how_many_runs_ended(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    short = fake.add_flow(duration=10.0)
    long = fake.add_flow(duration=30.0, outcome="FAILED")
    run_ids = [*fake.add_runs(short, 2), *fake.add_runs(long, 1)]
    told: list[WaitProgress] = []

    def on_progress(progress: WaitProgress) -> None:
        told.append(progress)
        fake.clock.advance(15)  # the next poll sees the runs 15 s older

    finished = await flows.wait_for_runs(run_ids, poll_interval=0.01, on_progress=on_progress)
    assert [run.status for run in finished] == ["SUCCEEDED", "SUCCEEDED", "FAILED"]
    assert told == [
        # The look-up of the bare ids, then each listing of the runs that ended.
        WaitProgress(done=0, total=3, counts={"ACTIVE": 3}),
        WaitProgress(done=2, total=3, counts={"ACTIVE": 1, "SUCCEEDED": 2}),
        WaitProgress(done=3, total=3, counts={"FAILED": 1, "SUCCEEDED": 2}),
    ]


async def test_a_run_not_yet_looked_up_is_counted_as_unknown(
    fake: FakeGlobus, flow_id: str
) -> None:
    run_ids = fake.add_runs(flow_id, 2)
    # Two 503s outlast the one retry of the first look-up; the wait rides out that failed poll.
    fake.faults.add("503", route=f"/flows/runs/{run_ids[1]}", count=2)
    fake.clock.advance(60)
    told: list[WaitProgress] = []
    retry = RetryPolicy(max_retries=1, backoff_initial=0.001, jitter=False)
    async with fake.flows_client(retry=retry) as flows:
        await flows.wait_for_runs(run_ids, poll_interval=0.01, on_progress=told.append)
    assert told == [
        WaitProgress(done=1, total=2, counts={"SUCCEEDED": 1, "UNKNOWN": 1}),
        WaitProgress(done=2, total=2, counts={"SUCCEEDED": 2}),
    ]
