"""Web inputs against the emulator, in-process and over loopback sockets."""

from __future__ import annotations

from typing import Any

import pytest

from globus_runs import (
    ConflictError,
    FlowsClient,
    InvalidIdError,
    InvalidRequestError,
    PermissionDeniedError,
    RunStatus,
    RunStatusEvent,
    RunWaitingForInputEvent,
    UnprocessableEntityError,
    WebInputNotFoundError,
)
from globus_runs.testing import FakeGlobus, RecordedRequest

from .conftest import client_for

pytestmark = pytest.mark.anyio

APPROVE = "0f8b2c6d-4e19-4a73-8d52-b6e1c9a03f74"
REJECT = "9c3e7a15-b0d4-4f62-a8e9-5d1b7c4f2e06"
POLICY = "2e7d9b14-c6a3-4f08-b9e5-7a1c3d6f8b02"
VIEWER = "58d1a7e3-c4b2-49f0-8e6a-2b9d0c7f3a15"
STRANGER = "c7a2e9f1-3b84-4d06-9e5a-0f1d8b6c2e47"
QUESTION = {
    "title": "Archive scan batch?",
    "text": "All scans passed quality control.",
    "after": 4.0,
    "options": [
        {"option_id": APPROVE, "label": "Approve", "description": "Archive them."},
        {"option_id": REJECT, "label": "Reject", "description": "Stop.", "outcome": "FAILED"},
    ],
    "viewers": [VIEWER],
}


@pytest.fixture
def flows(flows_on: FlowsClient) -> FlowsClient:
    """Every test here runs in-process and over loopback sockets."""
    return flows_on


@pytest.fixture
def approval_flow(fake: FakeGlobus) -> str:
    """A flow that waits 4 s in for a person to approve (run succeeds) or reject (fails)."""
    return fake.add_flow(title="Archive", duration=10.0, web_input=QUESTION)


def _waiting_run(fake: FakeGlobus, flow_id: str, label: str = "batch 42") -> tuple[str, str]:
    [run_id] = fake.add_runs(flow_id, 1, label=label)
    fake.clock.advance(5)
    web_input_id = fake.web_input_of(run_id)
    assert web_input_id is not None
    return run_id, web_input_id


def _requests(fake: FakeGlobus) -> list[RecordedRequest]:
    return [r for r in fake.requests if r.path.startswith("/web_inputs")]


async def test_a_run_waiting_for_a_person_names_its_web_input(
    fake: FakeGlobus, flows: FlowsClient, approval_flow: str
) -> None:
    [run_id] = fake.add_runs(approval_flow, 1)
    assert (await flows.get_run(run_id)).blocking_web_input_id is None
    fake.clock.advance(5)
    run = await flows.get_run(run_id)
    assert run.status == RunStatus.ACTIVE
    assert run.blocking_web_input_id == fake.web_input_of(run_id)


async def test_get_web_input_returns_the_question_its_options_and_roles(
    fake: FakeGlobus, flows: FlowsClient, approval_flow: str
) -> None:
    run_id, web_input_id = _waiting_run(fake, approval_flow)
    fake.clear_requests()
    web_input = await flows.get_web_input(web_input_id)
    [request] = _requests(fake)
    assert (request.method, request.path, request.query) == (
        "GET",
        f"/web_inputs/{web_input_id}",
        [],
    )
    assert web_input.id == web_input_id
    assert web_input.is_open
    assert web_input.can_respond
    assert web_input.user_roles == ["viewer", "respondent"]
    assert web_input.title == "Archive scan batch?"
    assert web_input.context.presentation_style == "text"
    assert web_input.context.text == "All scans passed quality control."
    assert [(o.option_id, o.label) for o in web_input.options] == [
        (APPROVE, "Approve"),
        (REJECT, "Reject"),
    ]
    assert web_input.roles.viewer_urns == [f"urn:globus:auth:identity:{VIEWER}"]
    assert web_input.roles.respondent_urns == [f"urn:globus:auth:identity:{fake.identity_id}"]
    assert web_input.run is not None
    assert web_input.run.id == run_id
    assert web_input.run.label == "batch 42"
    assert web_input.flow is not None
    assert web_input.flow.id == approval_flow
    assert web_input.closed_timestamp is None


async def test_a_table_context_comes_back_as_rows(fake: FakeGlobus, flows: FlowsClient) -> None:
    rows = [{"field": "Scans", "value": "118"}, {"field": "Beamline", "value": "8-ID-I"}]
    flow_id = fake.add_flow(web_input={"title": "Go?", "rows": rows, "after": 1.0})
    _, web_input_id = _waiting_run(fake, flow_id)
    web_input = await flows.get_web_input(web_input_id)
    assert web_input.context.presentation_style == "table"
    assert web_input.context.rows == rows
    assert web_input.context.text is None


@pytest.mark.parametrize(("option", "outcome"), [(APPROVE, "SUCCEEDED"), (REJECT, "FAILED")])
async def test_the_chosen_option_decides_how_the_run_ends(
    fake: FakeGlobus, flows: FlowsClient, approval_flow: str, option: str, outcome: str
) -> None:
    run_id, web_input_id = _waiting_run(fake, approval_flow)
    fake.clock.advance(100)  # the run waits, however long it takes
    assert (await flows.get_run(run_id)).status == RunStatus.ACTIVE
    fake.clear_requests()

    await flows.respond_to_web_input(web_input_id, option)

    [request] = _requests(fake)
    assert (request.method, request.path) == ("POST", f"/web_inputs/{web_input_id}/respond")
    assert request.json == {"response": {"value": option}}
    assert (await flows.get_run(run_id)).blocking_web_input_id is None
    fake.clock.advance(6)  # the 6 s of the run left after the question
    assert (await flows.get_run(run_id)).status == outcome
    closed = await flows.get_web_input(web_input_id)
    assert closed.status == "closed"
    assert closed.closed_timestamp is not None


async def test_answering_a_closed_web_input_raises_conflict(
    fake: FakeGlobus, flows: FlowsClient, approval_flow: str
) -> None:
    _, web_input_id = _waiting_run(fake, approval_flow)
    await flows.respond_to_web_input(web_input_id, APPROVE)
    with pytest.raises(ConflictError) as caught:
        await flows.respond_to_web_input(web_input_id, REJECT)
    assert caught.value.http_status == 409
    assert caught.value.code == "STATE_CONFLICT"
    assert caught.value.message == f"Web Input {web_input_id} is already closed."


async def test_an_unknown_web_input_raises_web_input_not_found(flows: FlowsClient) -> None:
    missing = "3d9a4e7b-1c2f-4b8a-9e6d-5f7a8b6c2d1e"
    with pytest.raises(WebInputNotFoundError) as caught:
        await flows.get_web_input(missing)
    assert caught.value.http_status == 404
    with pytest.raises(WebInputNotFoundError):
        await flows.respond_to_web_input(missing, APPROVE)


async def test_a_person_without_a_role_cannot_see_the_web_input(
    fake: FakeGlobus, approval_flow: str
) -> None:
    _, web_input_id = _waiting_run(fake, approval_flow)
    async with client_for(fake, fake.issue_token(identity_id=STRANGER)) as stranger:
        with pytest.raises(WebInputNotFoundError):
            await stranger.get_web_input(web_input_id)
        assert (await stranger.list_web_inputs()).web_inputs == []


async def test_a_viewer_may_read_but_not_answer(fake: FakeGlobus, approval_flow: str) -> None:
    _, web_input_id = _waiting_run(fake, approval_flow)
    async with client_for(fake, fake.issue_token(identity_id=VIEWER)) as viewer:
        seen = await viewer.get_web_input(web_input_id)
        assert seen.user_roles == ["viewer"]
        assert not seen.can_respond
        with pytest.raises(PermissionDeniedError) as caught:
            await viewer.respond_to_web_input(web_input_id, APPROVE)
    assert caught.value.code == "FORBIDDEN"
    assert caught.value.authorization_parameters is None
    assert fake.web_inputs_service.answers == {}


async def test_an_unmet_session_policy_raises_with_the_authorization_parameters(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(web_input={**QUESTION, "required_policies": [POLICY]})
    run_id, web_input_id = _waiting_run(fake, flow_id)
    with pytest.raises(PermissionDeniedError) as caught:
        await flows.respond_to_web_input(web_input_id, APPROVE)
    error = caught.value
    assert error.code == "AUTHENTICATION_POLICY_REQUIRED"
    assert error.requirement_code == "AuthenticationPolicyRequired"
    assert error.authorization_parameters is not None
    assert error.authorization_parameters.session_required_policies == (POLICY,)
    assert error.authorization_parameters.needs_session
    assert error.web_input_summary is not None
    assert error.web_input_summary["id"] == web_input_id
    assert error.web_input_summary["run"]["id"] == run_id

    fake.satisfy_policies(POLICY)
    await flows.respond_to_web_input(web_input_id, APPROVE)
    assert (await flows.get_web_input(web_input_id)).status == "closed"


async def test_a_value_that_is_no_option_is_unprocessable(
    fake: FakeGlobus, flows: FlowsClient, approval_flow: str
) -> None:
    _, web_input_id = _waiting_run(fake, approval_flow)
    with pytest.raises(UnprocessableEntityError) as caught:
        await flows.respond_to_web_input(web_input_id, "not-an-option")
    assert caught.value.http_status == 422
    assert (await flows.get_web_input(web_input_id)).is_open


async def test_list_web_inputs_sends_filters_comma_joined_and_returns_summaries(
    fake: FakeGlobus, flows: FlowsClient, approval_flow: str
) -> None:
    run_id, web_input_id = _waiting_run(fake, approval_flow)
    other_run, _ = _waiting_run(fake, approval_flow, label="batch 43")
    fake.clear_requests()
    page = await flows.list_web_inputs(
        filter_roles=["viewer", "respondent"],
        filter_states="open",
        filter_flow_ids=[approval_flow],
        filter_run_ids=[run_id],
        orderby="created_timestamp DESC",
        per_page=5,
    )
    [request] = _requests(fake)
    assert request.query == [
        ("filter_roles", "viewer,respondent"),
        ("filter_states", "open"),
        ("filter_flow_ids", approval_flow),
        ("filter_run_ids", run_id),
        ("orderby", "created_timestamp DESC"),
        ("per_page", "5"),
    ]
    [summary] = page.web_inputs
    assert (summary.id, summary.status, summary.title) == (
        web_input_id,
        "open",
        "Archive scan batch?",
    )
    assert summary.run is not None
    assert summary.run.id == run_id
    assert not page.has_next_page
    assert page.marker is None
    assert other_run != run_id


async def test_closed_web_inputs_are_listed_only_when_asked_for(
    fake: FakeGlobus, flows: FlowsClient, approval_flow: str
) -> None:
    _, answered = _waiting_run(fake, approval_flow)
    _, waiting = _waiting_run(fake, approval_flow)
    await flows.respond_to_web_input(answered, APPROVE)
    open_ids = [s.id for s in (await flows.list_web_inputs(filter_states="open")).web_inputs]
    closed_ids = [s.id for s in (await flows.list_web_inputs(filter_states="closed")).web_inputs]
    assert (open_ids, closed_ids) == ([waiting], [answered])


async def test_iter_web_inputs_follows_markers_sending_only_the_marker(
    fake: FakeGlobus, flows: FlowsClient, approval_flow: str
) -> None:
    run_ids = fake.add_runs(approval_flow, 7)
    fake.clock.advance(5)
    fake.clear_requests()
    found = [s async for s in flows.iter_web_inputs(filter_states="open", per_page=3)]
    assert sorted(s.run.id for s in found if s.run) == sorted(run_ids)
    queries = [r.query for r in _requests(fake)]
    assert len(queries) == 3
    assert queries[0] == [("filter_states", "open"), ("per_page", "3")]
    assert all([key for key, _ in query] == ["marker"] for query in queries[1:])


async def test_iter_web_inputs_stops_at_max_items_without_another_page(
    fake: FakeGlobus, flows: FlowsClient, approval_flow: str
) -> None:
    fake.add_runs(approval_flow, 7)
    fake.clock.advance(5)
    fake.clear_requests()
    found = await flows.iter_web_inputs(per_page=3, max_items=3).collect()
    assert len(found) == 3
    assert len(_requests(fake)) == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"filter_roles": "owner"},
        {"filter_states": ["open", "pending"]},
        {"filter_run_ids": [f"0000000{n}-0000-4000-8000-000000000000" for n in range(11)]},
        {"filter_flow_ids": "../flows"},
        {"orderby": "start_time DESC"},
        {"per_page": 0},
    ],
)
async def test_bad_listing_arguments_raise_before_any_request(
    fake: FakeGlobus, flows: FlowsClient, bad: dict[str, Any]
) -> None:
    with pytest.raises(InvalidRequestError):
        await flows.list_web_inputs(**bad)
    assert fake.requests == []


@pytest.mark.parametrize("bad_id", ["", "a/b", "../runs", "x?y"])
async def test_a_bad_web_input_id_raises_invalid_id_before_any_request(
    fake: FakeGlobus, flows: FlowsClient, bad_id: str
) -> None:
    with pytest.raises(InvalidIdError):
        await flows.get_web_input(bad_id)
    with pytest.raises(InvalidIdError):
        await flows.respond_to_web_input(bad_id, APPROVE)
    assert fake.requests == []


async def test_watch_run_says_when_the_run_waits_for_a_person(
    fake: FakeGlobus, flows: FlowsClient, approval_flow: str
) -> None:
    [run_id] = fake.add_runs(approval_flow, 1)
    events = flows.watch_run(run_id, poll_interval=0.01, include_logs=False)
    first = await events.__anext__()
    assert not isinstance(first, RunWaitingForInputEvent)
    fake.clock.advance(5)
    waiting = await events.__anext__()
    assert isinstance(waiting, RunWaitingForInputEvent)
    assert waiting.web_input_id == fake.web_input_of(run_id)
    assert waiting.title == "Archive scan batch?"
    assert waiting.web_input is not None
    assert [o.label for o in waiting.web_input.options] == ["Approve", "Reject"]
    await flows.respond_to_web_input(waiting.web_input_id, REJECT)
    fake.clock.advance(10)
    rest = [event async for event in events]
    assert not any(isinstance(event, RunWaitingForInputEvent) for event in rest)
    assert isinstance(rest[-1], RunStatusEvent)
    assert rest[-1].status == RunStatus.FAILED
