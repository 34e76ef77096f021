"""Runs paused for consent against the emulator, in-process and over loopback sockets."""

from __future__ import annotations

import anyio
import pytest

from globus_runs import (
    ConflictError,
    FlowsClient,
    Run,
    RunInactiveError,
    RunNeedsConsentEvent,
    RunStatus,
    RunStatusEvent,
)
from globus_runs.testing import FakeGlobus
from tests.auth._support import flow_scope

pytestmark = pytest.mark.anyio

POLL = 0.01


@pytest.fixture
def flows(flows_on: FlowsClient) -> FlowsClient:
    """Every test here runs in-process and over loopback sockets."""
    return flows_on


@pytest.fixture
def consent_flow(fake: FakeGlobus) -> str:
    """A flow whose runs pause at once until their owner consents to the flow's scope."""
    return fake.add_flow(title="Needs Consent", duration=10.0, consent_required=True)


async def test_a_run_needing_consent_names_the_scope_in_its_inactive_reason(
    fake: FakeGlobus, flows: FlowsClient, consent_flow: str
) -> None:
    run = await flows.run_flow(consent_flow, {})
    run = await flows.get_run(run.run_id)
    assert run.status == RunStatus.INACTIVE
    reason = run.inactive_reason
    assert reason is not None
    assert reason.code == "ConsentRequired"
    assert reason.required_scopes == (flow_scope(consent_flow),)
    assert reason.needs_consent
    assert reason.authorization_parameters is not None
    assert reason.authorization_parameters.session_message == (
        "The run needs your consent to continue."
    )


async def test_an_active_run_has_no_inactive_reason(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    assert (await flows.get_run(run_id)).inactive_reason is None


async def test_wait_for_run_raises_run_inactive_error_with_the_parsed_reason(
    flows: FlowsClient, consent_flow: str
) -> None:
    run = await flows.run_flow(consent_flow, {})
    with pytest.raises(RunInactiveError) as caught:
        await flows.wait_for_run(run.run_id, poll_interval=POLL, on_inactive="raise")
    assert caught.value.reason is not None
    assert caught.value.reason.required_scopes == (flow_scope(consent_flow),)
    assert caught.value.run.inactive_reason == caught.value.reason


async def test_resuming_without_consent_leaves_the_run_inactive(
    fake: FakeGlobus, flows: FlowsClient, consent_flow: str
) -> None:
    run = await flows.run_flow(consent_flow, {})
    resumed = await flows.resume_run(run.run_id)
    assert resumed.status == RunStatus.INACTIVE
    assert resumed.inactive_reason is not None
    assert resumed.inactive_reason.code == "ConsentRequired"


async def test_once_consent_is_granted_a_resumed_run_goes_on_and_succeeds(
    fake: FakeGlobus, flows: FlowsClient, consent_flow: str
) -> None:
    run = await flows.run_flow(consent_flow, {})
    fake.grant_consent(consent_flow)
    resumed = await flows.resume_run(run.run_id, flow_id=consent_flow)
    assert resumed.status == RunStatus.ACTIVE
    fake.clock.advance(11)
    assert (await flows.get_run(run.run_id)).status == RunStatus.SUCCEEDED


async def test_runs_started_after_consent_do_not_pause(
    fake: FakeGlobus, flows: FlowsClient, consent_flow: str
) -> None:
    fake.grant_consent(flow_scope(consent_flow))
    run = await flows.run_flow(consent_flow, {})
    assert (await flows.get_run(run.run_id)).status == RunStatus.ACTIVE


async def test_resuming_a_run_that_is_not_inactive_raises_conflict(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    with pytest.raises(ConflictError) as caught:
        await flows.resume_run(run_id, flow_id=flow_id)
    assert caught.value.code == "STATE_CONFLICT"


async def test_wait_for_runs_returns_paused_runs_with_their_reasons_when_asked(
    fake: FakeGlobus, flows: FlowsClient, consent_flow: str, flow_id: str
) -> None:
    paused = [await flows.run_flow(consent_flow, {}) for _ in range(3)]
    finishing = await flows.run_flow(flow_id, {})
    fake.clock.advance(11)
    with anyio.fail_after(10):
        final = await flows.wait_for_runs(
            [*paused, finishing], poll_interval=POLL, on_inactive="return"
        )
    assert [run.run_id for run in final] == [r.run_id for r in [*paused, finishing]]
    assert [run.status for run in final] == ["INACTIVE"] * 3 + ["SUCCEEDED"]
    scopes = {run.inactive_reason.required_scopes for run in final[:3] if run.inactive_reason}
    assert scopes == {(flow_scope(consent_flow),)}


async def test_wait_for_runs_raises_on_a_paused_run_when_asked(
    flows: FlowsClient, consent_flow: str
) -> None:
    paused = await flows.run_flow(consent_flow, {})
    with anyio.fail_after(10), pytest.raises(RunInactiveError) as caught:
        await flows.wait_for_runs([paused.run_id], poll_interval=POLL, on_inactive="raise")
    assert caught.value.run.run_id == paused.run_id


async def test_watch_run_says_which_consent_the_run_needs(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=10.0, consent_required=True, inactive_after=2.0)
    run = await flows.run_flow(flow_id, {})
    events = flows.watch_run(run.run_id, poll_interval=POLL, include_logs=False)
    assert isinstance(await events.__anext__(), RunStatusEvent)
    fake.clock.advance(3)
    became = await events.__anext__()
    needs = await events.__anext__()
    assert isinstance(became, RunStatusEvent)
    assert became.status == RunStatus.INACTIVE
    assert isinstance(needs, RunNeedsConsentEvent)
    assert needs.required_scopes == (flow_scope(flow_id),)
    fake.grant_consent(flow_id)
    await flows.resume_run(run.run_id, flow_id=flow_id)
    fake.clock.advance(20)
    rest = [event async for event in events]
    assert not any(isinstance(event, RunNeedsConsentEvent) for event in rest)
    assert isinstance(rest[-1], RunStatusEvent)
    assert rest[-1].status == RunStatus.SUCCEEDED


async def test_batch_resume_runs_given_runs_sends_only_the_resumes(
    fake: FakeGlobus, flows: FlowsClient, consent_flow: str
) -> None:
    paused = [await flows.run_flow(consent_flow, {}) for _ in range(4)]
    fake.grant_consent(consent_flow)
    fake.clear_requests()
    results = await flows.batch_resume_runs(paused, concurrency=2)
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert [r.unwrap().status for r in results] == ["ACTIVE"] * 4
    assert sorted((r.method, r.path) for r in fake.requests) == sorted(
        ("POST", f"/runs/{run.run_id}/resume") for run in paused
    )


async def test_batch_resume_runs_given_ids_looks_up_each_flow_first(
    fake: FakeGlobus, flows: FlowsClient, consent_flow: str
) -> None:
    paused = await flows.run_flow(consent_flow, {})
    fake.grant_consent(consent_flow)
    fake.clear_requests()
    [result] = await flows.batch_resume_runs([paused.run_id])
    assert result.unwrap().status == RunStatus.ACTIVE
    assert [(r.method, r.path) for r in fake.requests] == [
        ("GET", f"/runs/{paused.run_id}"),
        ("POST", f"/runs/{paused.run_id}/resume"),
    ]


async def test_batch_resume_runs_records_each_failure_in_its_result(
    fake: FakeGlobus, flows: FlowsClient, consent_flow: str, flow_id: str
) -> None:
    paused = await flows.run_flow(consent_flow, {})
    running = await flows.run_flow(flow_id, {})
    fake.grant_consent(consent_flow)
    first, second = await flows.batch_resume_runs([paused, running])
    assert first.unwrap().status == RunStatus.ACTIVE
    assert isinstance(second.error, ConflictError)


async def test_stream_resume_runs_yields_every_result(
    fake: FakeGlobus, flows: FlowsClient, consent_flow: str
) -> None:
    paused = [await flows.run_flow(consent_flow, {}) for _ in range(5)]
    fake.grant_consent(consent_flow)
    async with flows.stream_resume_runs(iter(paused), concurrency=2) as results:
        seen = {result.index: result.unwrap().status async for result in results}
    assert seen == dict.fromkeys(range(5), "ACTIVE")


async def test_list_consent_groups_groups_paused_runs_by_the_scopes_they_need(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    first = fake.add_flow(title="A", consent_required=True)
    second = fake.add_flow(title="B", consent_required=True)
    a = [await flows.run_flow(first, {}) for _ in range(2)]
    b = [await flows.run_flow(second, {}) for _ in range(3)]
    await flows.run_flow(flow_id, {})  # running: in no group
    groups = await flows.list_consent_groups()
    by_scope = {group.required_scopes: sorted(group.run_ids) for group in groups}
    assert by_scope == {
        (flow_scope(first),): sorted(r.run_id for r in a),
        (flow_scope(second),): sorted(r.run_id for r in b),
    }


async def test_a_driver_resumes_500_consent_blocked_runs_group_by_group(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_ids = [fake.add_flow(title=f"F{n}", consent_required=True) for n in range(5)]
    for flow_id in flow_ids:
        fake.add_runs(flow_id, 100)
    fake.clear_requests()

    groups = await flows.list_consent_groups()
    assert sorted(len(group.runs) for group in groups) == [100] * 5
    resumed: list[Run] = []
    for group in groups:
        # The program's consent step: once per group, for the group's scopes.
        [scope] = group.required_scopes
        fake.grant_consent(scope)
        results = await flows.batch_resume_runs(group.runs, concurrency=20)
        resumed.extend(result.unwrap() for result in results)
    assert len(resumed) == 500
    assert {run.status for run in resumed} == {"ACTIVE"}

    listings = [r for r in fake.requests if r.path == "/runs"]
    resumes = [r for r in fake.requests if r.path.endswith("/resume")]
    assert len(listings) == 10  # 500 INACTIVE runs, 50 a page
    assert len(resumes) == 500  # no look-up per run: the grouped runs carry their flow
    assert len(fake.requests) == 510

    fake.clock.advance(11)
    with anyio.fail_after(30):
        final = await flows.wait_for_runs(resumed, poll_interval=POLL)
    assert {run.status for run in final} == {"SUCCEEDED"}
