"""``run_timer``: start a flow timer's flow now, outside the timer's history."""

from __future__ import annotations

import pytest

from globus_runs import (
    FlowsClient,
    RunResult,
    TimerRun,
    TimerRunStatus,
    TimersClient,
    UnsupportedTimerError,
)
from globus_runs.testing import FakeGlobus

from .conftest import MANAGER, MONITOR, START, flows_requests, summary, timers_requests

pytestmark = pytest.mark.anyio

LATER = {"type": "once", "datetime": "2026-03-02T00:00:00+00:00"}


async def test_run_timer_starts_one_run_with_the_stored_body(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    timer = await timers.create_flow_timer(
        flow_id,
        {"path": "/data"},
        schedule=LATER,
        tags=["beam"],
        run_managers=[MANAGER],
        run_monitors=[MONITOR],
    )
    fake.clear_requests()

    run = await timers.run_timer(timer.timer_id)

    assert [summary(r) for r in timers_requests(fake)] == [
        ("GET", f"/jobs/{timer.timer_id}", [], None)
    ]
    assert [summary(r) for r in flows_requests(fake)] == [
        (
            "POST",
            f"/flows/{flow_id}/run",
            [],
            {
                "body": {"path": "/data"},
                "tags": ["beam"],
                "run_managers": [MANAGER],
                "run_monitors": [MONITOR],
            },
        )
    ]
    assert [r.status_code for r in fake.requests] == [200, 201]
    assert isinstance(run, TimerRun)
    assert run.id is not None
    assert run.id in fake.runs
    assert (run.timer_id, run.status, run.start_time, run.end_time) == (
        timer.timer_id,
        TimerRunStatus.IN_PROGRESS,
        START,
        None,
    )
    assert run.result == RunResult(status="ACTIVE", status_code=201, run_id=run.id)


async def test_the_run_started_now_is_not_in_the_timers_history(
    timers: TimersClient, flows: FlowsClient, flow_id: str
) -> None:
    timer = await timers.create_flow_timer(flow_id, {"path": "/data"}, schedule=LATER)

    run = await timers.run_timer(timer.timer_id)

    assert run.id is not None
    assert (await flows.get_run(run.id)).flow_id == flow_id
    assert await timers.list_all_runs(timer.timer_id) == []
    after = await timers.get_timer(timer.timer_id)
    assert (after.number_of_runs, after.last_ran_at, after.status) == (0, None, "new")


async def test_run_timer_of_a_transfer_timer_is_unsupported(
    fake: FakeGlobus, timers: TimersClient
) -> None:
    timer_id = fake.add_timer(timer_type="transfer", body={"source_endpoint_id": "x"})

    with pytest.raises(UnsupportedTimerError, match="only flow timers can be run now"):
        await timers.run_timer(timer_id)

    assert flows_requests(fake) == []
