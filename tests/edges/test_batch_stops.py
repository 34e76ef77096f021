"""Batches stop sending the items an answer showed must fail the same way."""

from __future__ import annotations

import socket

import pytest

from globus_runs import (
    FLOWS_RESOURCE_SERVER,
    AuthenticationError,
    BatchResult,
    CallbackAuthorizer,
    ConnectError,
    FlowNotFoundError,
    FlowsClient,
    NotAttemptedError,
    PermissionDeniedError,
    RetryPolicy,
    Run,
    RunRequest,
    TokenMapAuthorizer,
)
from globus_runs.testing import FakeGlobus

pytestmark = pytest.mark.anyio

MISSING_FLOW = "00000000-0000-4000-8000-00000000f404"
OTHER_OWNER = "00000000-0000-4000-8000-0000000000aa"


def sent(fake: FakeGlobus) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in fake.requests]


def assert_not_attempted(result: BatchResult[Run], cause: BaseException, reason: str) -> None:
    error = result.error
    assert isinstance(error, NotAttemptedError), error
    assert error.cause is cause
    assert error.__cause__ is cause
    assert error.reason == reason
    assert error.attempts == 0
    assert str(error) == f"not attempted: {reason} ({cause})"


async def test_a_rejected_fixed_token_is_sent_once_not_for_every_item() -> None:
    fake = FakeGlobus()
    flow_id = fake.add_flow()
    requests = [RunRequest(flow_id, {"i": i}) for i in range(200)]
    async with fake.flows_client(authorizer="revoked", retry=RetryPolicy.disabled()) as flows:
        results = await flows.batch_run_flows(requests, concurrency=1)
    assert sent(fake) == [("POST", f"/flows/{flow_id}/run")]
    assert [r.index for r in results] == list(range(200))
    first = results[0].error
    assert isinstance(first, AuthenticationError)
    assert first.http_status == 401
    for result in results[1:]:
        assert_not_attempted(result, first, "the token was rejected and cannot be renewed")


async def test_with_many_in_flight_only_those_already_sent_meet_the_401() -> None:
    fake = FakeGlobus()
    flow_id = fake.add_flow()
    requests = [RunRequest(flow_id, {"i": i}) for i in range(200)]
    async with fake.flows_client(authorizer="revoked", retry=RetryPolicy.disabled()) as flows:
        results = await flows.batch_run_flows(requests, concurrency=8)
    assert 1 <= len(fake.requests) <= 8
    refused = [r for r in results if isinstance(r.error, AuthenticationError)]
    skipped = [r for r in results if isinstance(r.error, NotAttemptedError)]
    assert len(refused) == len(fake.requests)
    assert len(refused) + len(skipped) == 200


async def test_a_missing_flow_stops_its_own_starts_and_other_flows_go_on() -> None:
    fake = FakeGlobus()
    flow_id = fake.add_flow()
    requests = [RunRequest(f, {"i": i}) for i in range(10) for f in (MISSING_FLOW, flow_id)]
    async with fake.flows_client(retry=RetryPolicy.disabled()) as flows:
        results = await flows.batch_run_flows(requests, concurrency=1)
    assert (
        sent(fake)
        == [("POST", f"/flows/{MISSING_FLOW}/run")] + [("POST", f"/flows/{flow_id}/run")] * 10
    )
    missing = results[0].error
    assert isinstance(missing, FlowNotFoundError)
    for result in results[2::2]:
        assert_not_attempted(result, missing, f"flow {MISSING_FLOW} was not found")
    assert all(result.ok for result in results[1::2])


async def test_a_missing_scope_stops_the_items_of_that_resource_server_only() -> None:
    fake = FakeGlobus()
    first, second = fake.add_flow(), fake.add_flow()
    token = fake.issue_token(
        identity_id=fake.identity_id, resource_servers=[FLOWS_RESOURCE_SERVER, second]
    )
    requests = [RunRequest(f, {"i": i}) for i in range(5) for f in (first, second)]
    async with fake.flows_client(authorizer=token, retry=RetryPolicy.disabled()) as flows:
        results = await flows.batch_run_flows(requests, concurrency=1)
    assert sent(fake) == [("POST", f"/flows/{first}/run")] + [("POST", f"/flows/{second}/run")] * 5
    denied = results[0].error
    assert isinstance(denied, PermissionDeniedError)
    assert denied.code == "MISSING_SCOPE"
    for result in results[2::2]:
        assert_not_attempted(result, denied, f"the token lacks the scope of {first}")
    assert all(result.ok for result in results[1::2])


async def test_a_token_without_the_flows_scope_stops_a_batch_of_run_ids() -> None:
    fake = FakeGlobus()
    run_ids = fake.add_runs(fake.add_flow(), 10)
    token = fake.issue_token(identity_id=fake.identity_id, resource_servers=["other"])
    async with fake.flows_client(authorizer=token, retry=RetryPolicy.disabled()) as flows:
        results = await flows.batch_get_runs(run_ids, concurrency=1)
    assert sent(fake) == [("GET", f"/runs/{run_ids[0]}")]
    denied = results[0].error
    assert isinstance(denied, PermissionDeniedError)
    for result in results[1:]:
        assert_not_attempted(
            result, denied, f"the token lacks the scope of {FLOWS_RESOURCE_SERVER}"
        )


async def test_a_run_the_caller_may_not_cancel_does_not_stop_the_others() -> None:
    fake = FakeGlobus()
    flow_id = fake.add_flow(duration=1000.0)
    monitor = f"urn:globus:auth:identity:{fake.identity_id}"
    watched = fake.add_runs(flow_id, 1, owner=OTHER_OWNER, run_monitors=[monitor])
    own = fake.add_runs(flow_id, 3)
    async with fake.flows_client(retry=RetryPolicy.disabled()) as flows:
        results = await flows.batch_cancel_runs(watched + own, concurrency=1)
    assert sent(fake) == [("POST", f"/runs/{run_id}/cancel") for run_id in watched + own]
    forbidden = results[0].error
    assert isinstance(forbidden, PermissionDeniedError)
    assert forbidden.code == "FORBIDDEN"
    assert all(result.ok for result in results[1:])


async def test_a_token_map_stops_only_the_resource_server_whose_token_was_rejected() -> None:
    fake = FakeGlobus()
    first, second = fake.add_flow(), fake.add_flow()
    authorizer = TokenMapAuthorizer({first: "revoked", second: fake.token})
    requests = [RunRequest(f, {"i": i}) for i in range(3) for f in (first, second)]
    async with fake.flows_client(authorizer=authorizer, retry=RetryPolicy.disabled()) as flows:
        results = await flows.batch_run_flows(requests, concurrency=1)
    assert sent(fake) == [("POST", f"/flows/{first}/run")] + [("POST", f"/flows/{second}/run")] * 3
    rejected = results[0].error
    assert isinstance(rejected, AuthenticationError)
    for result in results[2::2]:
        assert_not_attempted(
            result, rejected, f"the token for {first} was rejected and cannot be renewed"
        )
    assert all(result.ok for result in results[1::2])


async def test_a_renewable_authorizer_keeps_sending_every_item() -> None:
    fake = FakeGlobus()
    run_ids = fake.add_runs(fake.add_flow(), 3)
    authorizer = CallbackAuthorizer(lambda resource_server: "revoked")
    async with fake.flows_client(authorizer=authorizer, retry=RetryPolicy.disabled()) as flows:
        results = await flows.batch_get_runs(run_ids, concurrency=1)
    assert sent(fake) == [("GET", f"/runs/{run_id}") for run_id in run_ids]
    assert all(isinstance(result.error, AuthenticationError) for result in results)


async def test_a_streaming_batch_stops_the_same_way() -> None:
    fake = FakeGlobus()
    run_ids = fake.add_runs(fake.add_flow(duration=1000.0), 50)
    flows = fake.flows_client(authorizer="revoked", retry=RetryPolicy.disabled())
    async with flows, flows.stream_cancel_runs(iter(run_ids), concurrency=1) as stream:
        results = [result async for result in stream]
    assert sent(fake) == [("POST", f"/runs/{run_ids[0]}/cancel")]
    results.sort(key=lambda result: result.index)
    assert [r.index for r in results] == list(range(50))
    first = results[0].error
    assert isinstance(first, AuthenticationError)
    for result in results[1:]:
        assert_not_attempted(result, first, "the token was rejected and cannot be renewed")


async def test_a_service_that_cannot_be_reached_stops_the_batch_after_the_first_item() -> None:
    with socket.socket() as bound:  # bound, not listening: every connection is refused
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}/"
        retry = RetryPolicy(max_retries=2, backoff_initial=0.01, jitter=False)
        requests = [RunRequest(MISSING_FLOW, {"i": i}) for i in range(50)]
        async with FlowsClient(authorizer="a-token", base_url=url, retry=retry) as flows:
            results = await flows.batch_run_flows(requests, concurrency=1)
    first = results[0].error
    assert isinstance(first, ConnectError)
    assert first.attempts == 3
    for result in results[1:]:
        assert_not_attempted(result, first, "the service could not be reached (3 attempt(s))")
