"""A timer's runs through TimersClient: history, paging, derived statuses, filters, lookup."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from globus_runs import (
    FlowsClient,
    InvalidIdError,
    NotFoundError,
    RunResult,
    TimerNotFoundError,
    TimerRun,
    TimerRunError,
    TimerRunStatus,
    TimersClient,
)
from globus_runs.testing import FakeGlobus
from tests.conftest import Payloads

from .conftest import EVERY_MINUTE, START, canned, summary, timers_requests

pytestmark = pytest.mark.anyio


async def _timer_with_runs(fake: FakeGlobus, flow_id: str, n: int) -> str:
    """A timer firing every minute from ``START`` that has fired ``n`` times, the last
    time 59 s ago (so every run has finished)."""
    timer_id = fake.add_timer(flow_id, {"n": 1}, schedule=EVERY_MINUTE)
    fake.clock.advance(60 * n - 1)
    fake.clear_requests()
    return timer_id


async def test_a_recurring_timer_starts_one_flow_run_per_interval(
    fake: FakeGlobus, timers: TimersClient, flows: FlowsClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {"n": 1}, schedule=EVERY_MINUTE)
    fake.clock.advance(4 * 60 + 1)  # firings at +0, +60, +120, +180 and +240 s

    runs = await timers.list_all_runs(timer_id)

    assert [run.start_time for run in runs] == [
        START + timedelta(seconds=s) for s in (240, 180, 120, 60, 0)
    ]
    for run in runs:
        assert run.timer_id == timer_id
        assert run.id == run.result.run_id
        assert run.id is not None
        flow_run = await flows.get_run(run.id)
        assert (flow_run.flow_id, flow_run.start_time) == (flow_id, run.start_time)
        assert flow_run.run_owner == f"urn:globus:auth:identity:{fake.identity_id}"
    assert len({run.id for run in runs}) == 5
    assert len(fake.runs) == 5


async def test_list_runs_follow_ups_send_the_page_token_and_page_size(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    timer_id = await _timer_with_runs(fake, flow_id, 5)

    first = await timers.list_runs(timer_id, limit=2)
    assert first.marker is not None
    second = await timers.list_runs(timer_id, limit=2, marker=first.marker)
    assert second.marker is not None
    third = await timers.list_runs(timer_id, limit=2, marker=second.marker)

    path = f"/jobs/{timer_id}"
    assert [summary(r) for r in timers_requests(fake)] == [
        ("GET", path, [("page_size", "2")], None),
        ("GET", path, [("page_size", "2"), ("results_pt", first.marker)], None),
        ("GET", path, [("page_size", "2"), ("results_pt", second.marker)], None),
    ]
    assert [len(page.runs) for page in (first, second, third)] == [2, 2, 1]
    assert (first.has_next_page, second.has_next_page, third.has_next_page) == (
        True,
        True,
        False,
    )
    assert third.marker is None
    starts = [run.start_time for page in (first, second, third) for run in page.runs]
    assert starts == [START + timedelta(seconds=s) for s in (240, 180, 120, 60, 0)]


async def test_pages_do_not_shift_when_the_timer_fires_between_them(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    timer_id = await _timer_with_runs(fake, flow_id, 3)
    first = await timers.list_runs(timer_id, limit=2)
    fake.clock.advance(60)  # one more firing, which goes on top of the first page
    second = await timers.list_runs(timer_id, limit=2, marker=first.marker)

    assert [run.start_time for run in first.runs + second.runs] == [
        START + timedelta(seconds=s) for s in (120, 60, 0)
    ]
    assert second.has_next_page is False


async def test_iter_runs_fetches_pages_of_fifty(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    timer_id = await _timer_with_runs(fake, flow_id, 51)

    runs = [run async for run in timers.iter_runs(timer_id)]

    assert len(runs) == 51
    requests = timers_requests(fake)
    assert [r.params.get("page_size") for r in requests] == ["50", "50"]
    assert "results_pt" not in requests[0].params
    assert requests[1].params["results_pt"]


async def test_a_run_still_going_is_in_progress_then_success(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule={"type": "once"})
    fake.clock.advance(10)

    [running] = await timers.list_all_runs(timer_id)
    fake.clock.advance(30)
    [finished] = await timers.list_all_runs(timer_id)

    assert running.status == TimerRunStatus.IN_PROGRESS
    assert running.end_time is None
    assert running.result == RunResult(status="ACTIVE", status_code=201, run_id=running.id)
    assert finished.id == running.id
    assert finished.status == TimerRunStatus.SUCCESS
    assert finished.end_time == START + timedelta(seconds=30)
    assert finished.result == RunResult(status="SUCCEEDED", status_code=201, run_id=running.id)


async def test_a_failed_flow_run_is_a_failure(fake: FakeGlobus, timers: TimersClient) -> None:
    failing = fake.add_flow(
        duration=5.0, outcome="FAILED", failure_code="BadThing", failure_description="It broke"
    )
    timer_id = fake.add_timer(failing, {})
    fake.clock.advance(5)

    [run] = await timers.list_all_runs(timer_id)

    assert run.status == TimerRunStatus.FAILURE
    assert run.result.status == "FAILED"
    assert run.result.status_code == 201
    # The result's data is the run as submitted (still ACTIVE): it cannot say why.
    assert run.result.error == TimerRunError(code="RUN_FAILED", message="the run failed")


async def test_a_submission_to_a_missing_flow_is_a_failure_with_the_flows_error(
    fake: FakeGlobus, timers: TimersClient
) -> None:
    missing = "00000000-0000-4000-8000-00000000dead"
    timer_id = fake.add_timer(missing, {})

    [run] = await timers.list_all_runs(timer_id)

    assert run.status == TimerRunStatus.FAILURE
    assert run.id is None
    assert run.result == RunResult(
        status="FAILED",
        status_code=404,
        run_id=None,
        error=TimerRunError(
            code="NOT_FOUND",
            message=f"Flow {missing} not found",
            detail=f"Flow {missing} not found",
        ),
    )
    assert (await timers.get_timer(timer_id)).number_of_errors == 1


async def test_a_submission_whose_input_fails_the_schema_is_a_failure(
    fake: FakeGlobus, timers: TimersClient
) -> None:
    strict = fake.add_flow(input_schema={"type": "object", "required": ["path"]})
    timer_id = fake.add_timer(strict, {"other": 1})

    [run] = await timers.list_all_runs(timer_id)

    assert run.status == TimerRunStatus.FAILURE
    assert run.result.status_code == 400
    assert run.result.error is not None
    assert run.result.error.code == "FLOW_INPUT_ERROR"
    assert run.result.error.message == "Input failed schema validation with 1 error."
    assert fake.runs == {}


async def test_a_result_not_yet_submitted_is_pending(payloads: Payloads) -> None:
    # The emulator submits at the moment it fires, so this shape only comes from the service.
    document = payloads.json("timers_job_with_results")
    document["results"]["data"] = [{"ran_at": "2022-04-11T19:30:00.000000", "errors": None}]
    async with canned(200, document) as timers:
        [run] = await timers.list_all_runs(document["job_id"])
    assert run.status == TimerRunStatus.PENDING
    assert (run.id, run.result) == (None, RunResult())


async def test_status_filter_is_applied_while_paging(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE)
    fake.clock.advance(3 * 60 + 10)  # three finished runs and one 10 s into its 30 s

    page = await timers.list_runs(timer_id, limit=2, status="in_progress")
    rest = await timers.list_all_runs(timer_id, status=["success"])

    assert [run.status for run in page.runs] == ["in_progress"]
    assert page.has_next_page is True
    assert [run.start_time for run in rest] == [START + timedelta(seconds=s) for s in (120, 60, 0)]


async def test_start_time_filters_are_applied_while_paging(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    timer_id = await _timer_with_runs(fake, flow_id, 6)
    after, before = START + timedelta(seconds=60), START + timedelta(seconds=300)

    runs = [run async for run in timers.iter_runs(timer_id, start_after=after, start_before=before)]
    page = await timers.list_runs(timer_id, limit=2, start_after=after, start_before=before)

    assert [run.start_time for run in runs] == [
        START + timedelta(seconds=s) for s in (240, 180, 120)
    ]
    assert [run.start_time for run in page.runs] == [START + timedelta(seconds=240)]
    assert page.has_next_page is True


async def test_get_run_finds_a_run_on_a_later_page(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    timer_id = await _timer_with_runs(fake, flow_id, 55)
    oldest = fake.timers[timer_id].results[0].resource_id
    assert oldest is not None

    run = await timers.get_run(timer_id, oldest)

    assert isinstance(run, TimerRun)
    assert (run.id, run.start_time) == (oldest, START)
    assert len(timers_requests(fake)) == 2


async def test_get_run_of_a_run_not_in_the_history_is_timer_not_found(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    timer_id = await _timer_with_runs(fake, flow_id, 2)

    with pytest.raises(TimerNotFoundError) as info:
        await timers.get_run(timer_id, "00000000-0000-4000-8000-00000000beef")

    assert isinstance(info.value, NotFoundError)
    assert info.value.http_status == 404


@pytest.mark.parametrize("operation", ["get_run", "list_runs", "list_all_runs"])
async def test_the_runs_of_an_unknown_timer_are_timer_not_found(
    timers: TimersClient, operation: str
) -> None:
    unknown = "00000000-0000-4000-8000-00000000cafe"
    calls: dict[str, Any] = {
        "get_run": lambda: timers.get_run(unknown, "00000000-0000-4000-8000-00000000beef"),
        "list_runs": lambda: timers.list_runs(unknown),
        "list_all_runs": lambda: timers.list_all_runs(unknown),
    }
    with pytest.raises(TimerNotFoundError) as info:
        await calls[operation]()
    assert isinstance(info.value, NotFoundError)
    assert info.value.code == "NOT_FOUND"
    assert info.value.message == f"Unable to find job with id: {unknown}"


async def test_get_run_finds_a_transfer_run_by_its_task_id(payloads: Payloads) -> None:
    document = payloads.json("timers_job_with_results")
    async with canned(200, document) as timers:
        [listed] = await timers.list_all_runs(document["job_id"])
        found = await timers.get_run(document["job_id"], listed.id or "")

    assert listed.id == "15jfdBESgveZQ"
    assert found == listed


@pytest.mark.parametrize("run_id", ["", None, 5])
async def test_get_run_refuses_a_run_id_that_is_not_a_string_before_any_request(
    fake: FakeGlobus, timers: TimersClient, flow_id: str, run_id: Any
) -> None:
    timer_id = await _timer_with_runs(fake, flow_id, 1)

    with pytest.raises(InvalidIdError, match="run_id"):
        await timers.get_run(timer_id, run_id)

    assert timers_requests(fake) == []


async def test_get_run_still_checks_the_timer_id_that_goes_into_the_path(
    fake: FakeGlobus, timers: TimersClient
) -> None:
    with pytest.raises(InvalidIdError, match="timer_id"):
        await timers.get_run("../jobs", "15jfdBESgveZQ")

    assert timers_requests(fake) == []


async def test_every_run_list_runs_returns_is_found_by_get_run(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    timer_id = await _timer_with_runs(fake, flow_id, 3)

    runs = await timers.list_all_runs(timer_id)

    assert [await timers.get_run(timer_id, run.id or "") for run in runs] == runs


async def test_get_run_finds_every_run_of_a_transfer_timer_by_its_task_id(
    fake: FakeGlobus, timers: TimersClient
) -> None:
    timer_id = fake.add_timer(
        timer_type="transfer", body={"source_endpoint": "a"}, schedule=EVERY_MINUTE
    )
    fake.clock.advance(3 * 60 - 1)

    runs = await timers.list_all_runs(timer_id)

    assert len(runs) == 3
    for run in runs:
        assert run.id is not None
        with pytest.raises(ValueError, match="badly formed"):
            uuid.UUID(run.id)  # a task id, not a UUID
        assert run.ran_at == run.start_time
        assert run.http_status_polled == 200
        assert await timers.get_run(timer_id, run.id) == run
