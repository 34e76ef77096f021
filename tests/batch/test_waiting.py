"""wait_for_run, watch_run and wait_for_runs against the emulator on a fast clock."""

from __future__ import annotations

from datetime import datetime

import anyio
import pytest

from globus_runs import (
    FlowsClient,
    RetryPolicy,
    Run,
    RunEvent,
    RunInactiveError,
    RunLogEvent,
    RunNotFoundError,
    RunStatus,
    RunStatusEvent,
    WaitTimeoutError,
)
from globus_runs.testing import FakeGlobus

from .._conditions import wait_until
from .conftest import FailFirst

pytestmark = pytest.mark.anyio

POLL = 0.01


def as_started(fake: FakeGlobus, run_id: str) -> Run:
    """The run as its start described it: what a waiter given runs reads from each (id, flow,
    status, start time)."""
    document = fake.get_run_document(run_id)
    return Run(
        run_id=run_id,
        flow_id=document["flow_id"],
        status=document["status"],
        start_time=datetime.fromisoformat(document["start_time"]),
    )


@pytest.mark.parametrize("outcome", ["SUCCEEDED", "FAILED", "ENDED"])
async def test_wait_ends_on_each_terminal_status(
    fake: FakeGlobus, flows: FlowsClient, outcome: str
) -> None:
    flow_id = fake.add_flow(duration=10_000.0, outcome=outcome)  # type: ignore[arg-type]
    [run_id] = fake.add_runs(flow_id, 1)

    async def finish_after_the_first_poll() -> None:
        while not fake.requests:  # noqa: ASYNC110
            await anyio.sleep(POLL)
        fake.clock.advance(10_000)

    async with anyio.create_task_group() as group:
        group.start_soon(finish_after_the_first_poll)
        run = await flows.wait_for_run(run_id, poll_interval=POLL, timeout=30)
    assert run.status == outcome
    assert run.is_terminal
    assert len(fake.requests) >= 2


async def test_the_first_check_is_immediate(fake: FakeGlobus, flows: FlowsClient) -> None:
    flow_id = fake.add_flow(duration=0.0)
    [run_id] = fake.add_runs(flow_id, 1)
    await anyio.sleep(0.01)
    with anyio.fail_after(20):  # a second look would come only after 30 s
        run = await flows.wait_for_run(run_id, poll_interval=30)
    assert run.status == RunStatus.SUCCEEDED
    assert len(fake.requests) == 1


async def test_on_inactive_return(fake: FakeGlobus, flows: FlowsClient) -> None:
    flow_id = fake.add_flow(duration=100.0, inactive_after=2.0)
    [run_id] = fake.add_runs(flow_id, 1)
    run = await flows.wait_for_run(run_id, poll_interval=POLL, on_inactive="return", timeout=10)
    assert run.status == RunStatus.INACTIVE


async def test_on_inactive_raise_carries_the_run_and_its_details(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=100.0, inactive_after=2.0)
    [run_id] = fake.add_runs(flow_id, 1)
    with pytest.raises(RunInactiveError) as info:
        await flows.wait_for_run(run_id, poll_interval=POLL, on_inactive="raise", timeout=10)
    assert info.value.run.run_id == run_id
    assert info.value.run.status == RunStatus.INACTIVE
    assert info.value.run.details is not None
    assert info.value.run.details["code"] == "ConsentRequired"
    assert "ConsentRequired" in str(info.value)


async def test_on_inactive_wait_keeps_polling_until_resumed(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=6.0, inactive_after=2.0)
    [run_id] = fake.add_runs(flow_id, 1)

    async def resume_when_inactive() -> None:
        while (await flows.get_run(run_id)).status != RunStatus.INACTIVE:  # noqa: ASYNC110
            await anyio.sleep(POLL)
        await flows.resume_run(run_id)

    async with anyio.create_task_group() as tg:
        tg.start_soon(resume_when_inactive)
        run = await flows.wait_for_run(run_id, poll_interval=POLL, timeout=10)
    assert run.status == RunStatus.SUCCEEDED


async def test_timeout_raises_with_the_last_run(fake: FakeGlobus, flows: FlowsClient) -> None:
    flow_id = fake.add_flow(duration=10_000.0)
    [run_id] = fake.add_runs(flow_id, 1)
    with pytest.raises(WaitTimeoutError) as info:
        await flows.wait_for_run(run_id, poll_interval=POLL, timeout=2.0)
    assert info.value.last_run is not None
    assert info.value.last_run.run_id == run_id
    assert info.value.last_run.status == RunStatus.ACTIVE


async def test_an_enclosing_fail_after_cancels_the_wait(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=10_000.0)
    [run_id] = fake.add_runs(flow_id, 1)
    with pytest.raises(TimeoutError):
        with anyio.fail_after(0.1):
            await flows.wait_for_run(run_id, poll_interval=POLL)


async def test_transient_503s_are_ridden_out(fake: FakeGlobus) -> None:
    flow_id = fake.add_flow(duration=4.0)
    [run_id] = fake.add_runs(flow_id, 1)
    # Three attempts per poll: the first poll fails (3 answers), the second succeeds after one.
    flaky = FailFirst(fake.app, count=4)
    retry = RetryPolicy(max_retries=2, backoff_initial=0.001)
    async with fake.flows_client(app=flaky, retry=retry) as flows:
        run = await flows.wait_for_run(run_id, poll_interval=POLL, timeout=10)
    assert run.status == RunStatus.SUCCEEDED
    assert flaky.failed == 4


async def test_a_missing_run_is_raised_not_waited_for(flows: FlowsClient) -> None:
    with pytest.raises(RunNotFoundError):
        await flows.wait_for_run("00000000-0000-4000-8000-000000000404", poll_interval=POLL)


# Watching slows its polls down (by half each time): bigger steps keep the test short.
@pytest.mark.parametrize("clock", [("ticking", 10.0)], indirect=True)
async def test_watch_yields_every_log_entry_once_and_every_status_change_in_order(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=80.0, inactive_after=30.0, steps=3)
    [run_id] = fake.add_runs(flow_id, 1)
    events: list[RunEvent] = []

    with anyio.fail_after(60):
        async for event in flows.watch_run(run_id, poll_interval=POLL):
            events.append(event)
            if isinstance(event, RunStatusEvent) and event.status == RunStatus.INACTIVE:
                await flows.resume_run(run_id)

    statuses = [(e.previous, e.status) for e in events if isinstance(e, RunStatusEvent)]
    assert statuses == [
        (None, "ACTIVE"),
        ("ACTIVE", "INACTIVE"),
        ("INACTIVE", "ACTIVE"),
        ("ACTIVE", "SUCCEEDED"),
    ]
    assert isinstance(events[-1], RunStatusEvent)
    watched = [e.entry for e in events if isinstance(e, RunLogEvent)]
    assert watched == await flows.list_all_run_logs(run_id)
    codes = [entry.code for entry in watched]
    assert codes[0] == "FlowStarted"
    assert codes[-1] == "FlowSucceeded"
    assert "FlowInactive" in codes
    assert "FlowResumed" in codes


@pytest.mark.parametrize("clock", ["manual"], indirect=True)
async def test_wait_for_runs_returns_final_runs_in_input_order(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    quick = fake.add_flow(duration=40.0)
    slow = fake.add_flow(duration=100.0, outcome="FAILED")
    run_ids = fake.add_runs(quick, 30) + fake.add_runs(slow, 30)
    order = run_ids[::2] + run_ids[1::2]
    finished: list[Run] = []

    async def wait() -> None:
        finished.extend(await flows.wait_for_runs(order, poll_interval=POLL, timeout=60))

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait)
        # The runs end only once every id has been looked up and the listings have begun.
        await wait_until(lambda: any(r.path == "/runs" for r in fake.requests))
        fake.clock.advance(100)
    assert [run.run_id for run in finished] == order
    assert {run.status for run in finished if run.flow_id == quick} == {"SUCCEEDED"}
    assert {run.status for run in finished if run.flow_id == slow} == {"FAILED"}
    lookups = [r for r in fake.requests if r.path.startswith("/runs/")]
    assert len(lookups) == 60  # each bare id is looked up once, then only listings
    listings = [r for r in fake.requests if r.path == "/runs"]
    assert listings
    for listing in listings:
        if listing.params.get("marker"):
            continue
        assert listing.params["filter_status"] == "ENDED,FAILED,SUCCEEDED"
        assert set(listing.params["filter_flow_id"].split(",")) <= {quick, slow}


async def test_wait_for_runs_needs_no_lookup_for_runs_it_was_given(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=3.0)
    started: list[Run] = [await flows.run_flow(flow_id, {"i": i}) for i in range(10)]
    fake.clear_requests()
    finished = await flows.wait_for_runs(started, poll_interval=POLL, timeout=20)
    assert [r.run_id for r in finished] == [r.run_id for r in started]
    assert all(r.status == "SUCCEEDED" for r in finished)
    assert all(r.path == "/runs" for r in fake.requests)


async def test_wait_for_runs_timeout_reports_what_it_saw(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    quick = fake.add_flow(duration=1.0)
    never = fake.add_flow(duration=1e9)
    run_ids = fake.add_runs(quick, 2) + fake.add_runs(never, 2)
    with pytest.raises(WaitTimeoutError) as info:
        await flows.wait_for_runs(run_ids, poll_interval=POLL, timeout=2.0)
    assert [r.run_id for r in info.value.last_runs] == run_ids
    assert [r.status for r in info.value.last_runs] == [
        "SUCCEEDED",
        "SUCCEEDED",
        "ACTIVE",
        "ACTIVE",
    ]


async def test_wait_for_runs_raises_for_a_run_that_does_not_exist(flows: FlowsClient) -> None:
    with pytest.raises(RunNotFoundError):
        await flows.wait_for_runs(["00000000-0000-4000-8000-000000000404"], poll_interval=POLL)


@pytest.mark.parametrize(
    "clock", [pytest.param(("realtime", 1000.0), id="speed-1000")], indirect=True
)
async def test_wait_for_runs_misses_no_run_finishing_while_pages_are_read(
    fake: FakeGlobus,
) -> None:
    # Reading one poll's pages takes several emulated minutes here, longer than the overlap
    # between windows: runs completing meanwhile must still be caught by the next poll.
    flow_id = fake.add_flow(duration=60.0)
    durations = [100.0 + (i * 37) % 800 for i in range(600)]
    run_ids = fake.add_runs(flow_id, 600, duration=durations)
    started = [as_started(fake, run_id) for run_id in run_ids]
    fake.latency = 0.03  # thirty emulated seconds per request
    async with fake.flows_client(concurrency=50) as flows:
        finished = await flows.wait_for_runs(started, poll_interval=0.05, timeout=60)
    assert [run.run_id for run in finished] == run_ids
    assert all(run.status == RunStatus.SUCCEEDED for run in finished)
