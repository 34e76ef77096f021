"""Each single-run FlowsClient operation: the exact request sent and the model returned."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from globus_runs import (
    BadRequestError,
    ConflictError,
    FlowNotFoundError,
    FlowsClient,
    InvalidIdError,
    NotFoundError,
    PermissionDeniedError,
    RetryPolicy,
    Run,
    RunDefinition,
    RunNotFoundError,
    RunStatus,
    UnprocessableEntityError,
    __version__,
)
from globus_runs.testing import FakeGlobus

from .conftest import START, only_request

pytestmark = pytest.mark.anyio


def _assert_common_headers(headers: dict[str, str], *, body: bool) -> None:
    assert headers["authorization"] == "Bearer test-token"
    assert headers["accept"] == "application/json"
    assert headers["user-agent"].startswith(f"globus-runs/{__version__} ")
    assert ("content-type" in headers) is body
    if body:
        assert headers["content-type"] == "application/json"


async def test_run_flow_sends_the_start_request_and_returns_the_new_run(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    run = await flows.run_flow(
        flow_id,
        {"path": "/data"},
        label="scan 7",
        tags=["beam", "night"],
        run_monitors=["urn:globus:auth:identity:00000000-0000-1000-8000-00000000000a"],
        activity_notification_policy={"status": ["INACTIVE", "FAILED"]},
    )
    request = only_request(fake)
    assert (request.method, request.path, request.query) == ("POST", f"/flows/{flow_id}/run", [])
    assert request.json == {
        "body": {"path": "/data"},
        "label": "scan 7",
        "tags": ["beam", "night"],
        "run_monitors": ["urn:globus:auth:identity:00000000-0000-1000-8000-00000000000a"],
        "activity_notification_policy": {"status": ["INACTIVE", "FAILED"]},
    }
    _assert_common_headers(request.headers, body=True)
    assert request.status_code == 201
    assert isinstance(run, Run)
    assert run.flow_id == flow_id
    assert run.flow_title == "Ten Seconds"
    assert run.status == RunStatus.ACTIVE
    assert run.label == "scan 7"
    assert run.tags == ["beam", "night"]
    assert run.start_time == START
    assert run.completion_time is None
    assert run.run_owner == f"urn:globus:auth:identity:{fake.identity_id}"
    assert run.raw["run_id"] == run.run_id
    assert run.run_id in fake.runs


async def test_run_flow_on_a_missing_flow_is_flow_not_found_not_run_not_found(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    missing = "00000000-0000-4000-8000-00000000dead"
    with pytest.raises(FlowNotFoundError) as info:
        await flows.run_flow(missing, {})
    assert not isinstance(info.value, RunNotFoundError)
    assert info.value.http_status == 404
    assert info.value.request_id  # the emulator's debug_id
    assert info.value.method == "POST"
    assert info.value.url == f"{fake.flows_url.rstrip('/')}/flows/{missing}/run"


async def test_run_flow_input_failing_the_schema_is_bad_request(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(
        input_schema={
            "type": "object",
            "properties": {"bool": {"type": "boolean"}},
            "required": ["bool"],
        }
    )
    with pytest.raises(BadRequestError) as info:
        await flows.run_flow(flow_id, {"bool": "not-a-boolean"})
    assert info.value.code == "FLOW_INPUT_ERROR"
    assert len(fake.flows_service.runs) == 0


async def test_validate_run_returns_none_or_raises(fake: FakeGlobus, flows: FlowsClient) -> None:
    flow_id = fake.add_flow(
        input_schema={"type": "object", "properties": {"n": {"type": "integer"}}}
    )
    await flows.validate_run(flow_id, {"n": 3}, label="check")
    request = only_request(fake)
    assert (request.method, request.path) == ("POST", f"/flows/{flow_id}/validate_run")
    assert request.json == {"body": {"n": 3}, "label": "check"}
    with pytest.raises(BadRequestError, match="FLOW_INPUT_ERROR"):
        await flows.validate_run(flow_id, {"n": "three"})
    assert len(fake.flows_service.runs) == 0


async def test_get_run_returns_the_run_as_the_service_describes_it(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1, label="one")
    fake.clock.advance(30)
    run = await flows.get_run(run_id)
    request = only_request(fake)
    assert (request.method, request.path, request.query) == ("GET", f"/runs/{run_id}", [])
    assert request.body == b""
    _assert_common_headers(request.headers, body=False)
    assert run.run_id == run_id
    assert run.status == RunStatus.SUCCEEDED
    assert run.is_terminal
    assert run.error is None
    assert run.completion_time is not None
    assert run.flow_description is None
    assert run.raw == fake.get_run_document(run_id)


async def test_get_run_with_flow_description(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    run = await flows.get_run(run_id, include_flow_description=True)
    assert only_request(fake).query == [("include_flow_description", "true")]
    assert run.flow_description is not None
    assert run.flow_description["id"] == flow_id
    assert run.flow_description["title"] == "Ten Seconds"


async def test_get_run_of_a_missing_run_is_run_not_found(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    with pytest.raises(RunNotFoundError) as info:
        await flows.get_run("00000000-0000-4000-8000-000000000404")
    assert info.value.http_status == 404
    assert isinstance(info.value, NotFoundError)


@pytest.mark.parametrize("bad", ["../runs", "a/b", "x y", "", "r?x=1", "#frag"])
async def test_bad_ids_are_refused_before_any_request(
    fake: FakeGlobus, flows: FlowsClient, bad: str
) -> None:
    with pytest.raises(InvalidIdError):
        await flows.get_run(bad)
    with pytest.raises(InvalidIdError):
        await flows.cancel_run(bad)
    with pytest.raises(InvalidIdError):
        await flows.run_flow(bad, {})
    assert fake.requests == []


async def test_update_run_sends_only_the_given_fields(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1, label="old", tags=["a", "b"])
    run = await flows.update_run(run_id, label="new", tags=[])
    request = only_request(fake)
    assert (request.method, request.path) == ("PUT", f"/runs/{run_id}")
    assert request.json == {"label": "new", "tags": []}
    assert (run.label, run.tags) == ("new", [])


async def test_cancel_run_answers_202_and_the_run_ends_canceled(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    run = await flows.cancel_run(run_id)
    request = only_request(fake)
    assert (request.method, request.path, request.body) == (
        "POST",
        f"/runs/{run_id}/cancel",
        b"",
    )
    _assert_common_headers(request.headers, body=False)
    assert request.status_code == 202
    assert run.status == RunStatus.FAILED
    assert run.was_canceled
    assert run.error is not None
    assert run.error.code == "FlowCanceled"


async def test_cancel_of_a_finished_run_is_a_state_conflict(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    fake.clock.advance(60)
    with pytest.raises(ConflictError) as info:
        await flows.cancel_run(run_id)
    assert info.value.code == "STATE_CONFLICT"


async def test_release_run_removes_a_finished_run(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    with pytest.raises(ConflictError):
        await flows.release_run(run_id)
    fake.clock.advance(60)
    released = await flows.release_run(run_id)
    assert released.run_id == run_id
    assert (fake.requests[-1].method, fake.requests[-1].path) == (
        "POST",
        f"/runs/{run_id}/release",
    )
    with pytest.raises(RunNotFoundError):
        await flows.get_run(run_id)


async def test_resume_run_looks_up_the_flow_and_uses_its_resource_server(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=20.0, inactive_after=5.0)
    [run_id] = fake.add_runs(flow_id, 1)
    fake.clock.advance(10)
    inactive = await flows.get_run(run_id)
    assert inactive.status == RunStatus.INACTIVE
    assert inactive.details is not None
    assert inactive.details["code"] == "ConsentRequired"
    fake.clear_requests()

    resumed = await flows.resume_run(run_id)
    assert [(r.method, r.path) for r in fake.requests] == [
        ("GET", f"/runs/{run_id}"),
        ("POST", f"/runs/{run_id}/resume"),
    ]
    assert resumed.status == RunStatus.ACTIVE
    fake.clear_requests()
    with pytest.raises(ConflictError):
        await flows.resume_run(run_id, flow_id=flow_id)
    assert [(r.method, r.path) for r in fake.requests] == [("POST", f"/runs/{run_id}/resume")]


async def test_get_run_definition(fake: FakeGlobus, flows: FlowsClient) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    flow_id = fake.add_flow(input_schema=schema)
    [run_id] = fake.add_runs(flow_id, 1, body={"n": 1})
    definition = await flows.get_run_definition(run_id)
    assert only_request(fake).path == f"/runs/{run_id}/definition"
    assert isinstance(definition, RunDefinition)
    assert definition.flow_id == flow_id
    assert definition.input_schema == schema
    assert definition.definition["StartAt"] == "Step1"


async def test_a_monitor_may_not_cancel(fake: FakeGlobus, flow_id: str) -> None:
    monitor_id = "00000000-0000-4000-8000-0000000000aa"
    monitor_token = fake.issue_token(identity_id=monitor_id)
    [run_id] = fake.add_runs(flow_id, 1, run_monitors=[f"urn:globus:auth:identity:{monitor_id}"])
    async with fake.flows_client(authorizer=monitor_token) as monitor:
        assert (await monitor.get_run(run_id)).user_role == "run_monitor"
        with pytest.raises(PermissionDeniedError) as info:
            await monitor.cancel_run(run_id)
    assert info.value.code == "FORBIDDEN"


async def test_invalid_query_values_from_the_service_are_unprocessable(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    with pytest.raises(UnprocessableEntityError):
        await flows.list_runs(filter_status="RUNNING")


async def test_run_times_are_aware_datetimes_on_the_service_clock(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    run = await flows.run_flow(flow_id, {})
    fake.clock.advance(12.5)
    finished = await flows.get_run(run.run_id)
    assert finished.start_time == START
    assert finished.completion_time == START + timedelta(seconds=10)
    assert json.loads(fake.requests[0].body) == {"body": {}}


async def test_cancelling_a_canceled_run_is_a_state_conflict(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    await flows.cancel_run(run_id)
    with pytest.raises(ConflictError) as info:
        await flows.cancel_run(run_id)
    assert info.value.attempts == 1


async def test_a_lost_cancel_answer_retried_still_reports_the_canceled_run(
    fake: FakeGlobus, flow_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    fake.faults.add("502", route="/flows/runs/*/cancel", processed=True, count=1)
    async with fake.flows_client(retry=RetryPolicy(backoff_initial=0.001)) as flows:
        run = await flows.cancel_run(run_id)
    assert run.was_canceled
    assert [(r.method, r.status_code) for r in fake.requests] == [
        ("POST", 502),
        ("POST", 409),
        ("GET", 200),
    ]
