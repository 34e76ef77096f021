"""The public API's main signatures, as a type checker sees them.

Not run by pytest: mypy checks this file (``tests`` is among the ``files`` of its config in
``pyproject.toml``), and every `assert_type` below fails the check when a public signature
changes what it takes or gives. The calls are also the shape of the documented usage: a
wrong argument type or name fails the check too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import assert_type

import httpx

from globus_runs import (
    AccessTokenAuthorizer,
    Authorizer,
    BatchResult,
    BatchStream,
    CallbackAuthorizer,
    ClientCredentialsAuthorizer,
    FlowsClient,
    RefreshTokenAuthorizer,
    RetryEvent,
    RetryPolicy,
    Run,
    RunDefinition,
    RunEvent,
    RunLogEntry,
    RunLogPage,
    RunPage,
    RunRequest,
    Timer,
    TimerRun,
    TimerRunPage,
    TimersClient,
    TokenMapAuthorizer,
    TokenResponse,
    pooled_http_client,
)
from globus_runs.testing import FakeClock, FakeGlobus

FLOW_ID = "7b9d2a8e-0f1c-4e3a-9b6d-5c4f3e2a1b0c"
RUN_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
TIMER_ID = "1b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e"


async def flows_client_signatures(flows: FlowsClient) -> None:
    assert_type(
        await flows.run_flow(
            FLOW_ID,
            {"input": 1},
            label="nightly",
            tags=["a"],
            run_monitors=[],
            run_managers=[],
            activity_notification_policy={"status": ["FAILED"]},
            additional_fields={"x": 1},
        ),
        Run,
    )
    assert_type(await flows.get_run(RUN_ID), Run)
    assert_type(await flows.get_run(RUN_ID, include_flow_description=True), Run)
    assert_type(await flows.cancel_run(RUN_ID), Run)
    assert_type(await flows.update_run(RUN_ID, label="x", tags=[]), Run)
    assert_type(await flows.resume_run(RUN_ID), Run)
    assert_type(await flows.release_run(RUN_ID), Run)
    assert_type(await flows.get_run_definition(RUN_ID), RunDefinition)

    since = datetime(2026, 1, 1, tzinfo=UTC)
    page = await flows.list_runs(
        filter_flow_id=FLOW_ID,
        filter_status=["ACTIVE", "INACTIVE"],
        filter_label="nightly",
        filter_roles=("run_owner",),
        filter_start_time=(since, None),
        filter_completion_time=(None, since),
        orderby="start_time DESC",
        per_page=50,
        marker=None,
    )
    assert_type(page, RunPage)
    assert_type(page.runs, list[Run])
    assert_type(page.has_next_page, bool)
    assert_type(page.marker, str | None)
    async for run in flows.iter_runs(filter_status="ACTIVE", per_page=50, max_items=100):
        assert_type(run, Run)
    assert_type(await flows.list_all_runs(filter_flow_id=[FLOW_ID]), list[Run])

    assert_type(await flows.get_run_logs(RUN_ID, limit=100, reverse_order=True), RunLogPage)
    async for entry in flows.iter_run_logs(RUN_ID, page_size=100):
        assert_type(entry, RunLogEntry)
    assert_type(await flows.list_all_run_logs(RUN_ID), list[RunLogEntry])

    assert_type(await flows.wait_for_run(RUN_ID), Run)
    assert_type(
        await flows.wait_for_run(RUN_ID, poll_interval=1.0, timeout=60.0, on_inactive="raise"),
        Run,
    )
    run = await flows.get_run(RUN_ID)
    assert_type(
        await flows.wait_for_runs([RUN_ID, run], poll_interval=2.0, timeout=None), list[Run]
    )
    async for event in flows.watch_run(RUN_ID, poll_interval=2.0):
        assert_type(event, RunEvent)


async def batch_signatures(flows: FlowsClient) -> None:
    requests = [RunRequest(FLOW_ID, {"n": n}, label=f"n {n}") for n in range(3)]
    results = await flows.batch_run_flows(requests, concurrency=8)
    assert_type(results, list[BatchResult[Run]])
    first = results[0]
    assert_type(first.ok, bool)
    assert_type(first.index, int)
    assert_type(first.value, Run | None)
    assert_type(first.error, BaseException | None)
    assert_type(first.unwrap(), Run)
    assert_type(await flows.batch_get_runs([RUN_ID]), list[BatchResult[Run]])
    assert_type(await flows.batch_cancel_runs([RUN_ID]), list[BatchResult[Run]])

    stream = flows.stream_run_flows(requests, concurrency=8)
    assert_type(stream, AbstractAsyncContextManager[BatchStream[Run]])
    async with stream as started:
        async for result in started:
            assert_type(result, BatchResult[Run])
    async with flows.stream_get_runs([RUN_ID]) as fetched:
        async for result in fetched:
            assert_type(result, BatchResult[Run])
    async with flows.stream_cancel_runs([RUN_ID]) as canceled:
        async for result in canceled:
            assert_type(result, BatchResult[Run])


async def timers_client_signatures(timers: TimersClient) -> None:
    timer = await timers.create_flow_timer(
        FLOW_ID,
        {"input": 1},
        name="hourly",
        schedule={"type": "recurring", "interval_seconds": 3600},
        run_managers=[],
        run_monitors=[],
        tags=["t"],
    )
    assert_type(timer, Timer)
    assert_type(await timers.get_timer(TIMER_ID), Timer)
    assert_type(await timers.list_timers(filter_status="active", filter_name="x"), list[Timer])
    assert_type(await timers.update_timer(TIMER_ID, name="daily"), Timer)
    assert_type(await timers.pause_timer(TIMER_ID), None)
    assert_type(await timers.resume_timer(TIMER_ID, update_credentials=True), None)
    assert_type(await timers.delete_timer(TIMER_ID), Timer)

    assert_type(await timers.run_timer(TIMER_ID), TimerRun)
    since = datetime(2026, 1, 1, tzinfo=UTC)
    page = await timers.list_runs(TIMER_ID, limit=10, marker=None, status="failure")
    assert_type(page, TimerRunPage)
    assert_type(page.runs, list[TimerRun])
    async for timer_run in timers.iter_runs(TIMER_ID, start_after=since, max_items=10):
        assert_type(timer_run, TimerRun)
    assert_type(await timers.list_all_runs(TIMER_ID, status=["success"]), list[TimerRun])
    assert_type(await timers.get_run(TIMER_ID, "15jfdBESgveZQ"), TimerRun)
    assert_type(timers.flows, FlowsClient)


async def client_construction(http: httpx.AsyncClient) -> None:
    retry = RetryPolicy(max_retries=3, backoff_initial=0.1, backoff_max=5.0, retry_after_max=30.0)
    flows = FlowsClient(
        authorizer="token",
        base_url=None,
        environment="sandbox",
        http_client=http,
        timeout=30.0,
        retry=retry,
        concurrency=16,
    )
    assert_type(flows, FlowsClient)
    timers = TimersClient(authorizer=AccessTokenAuthorizer("token"), flows=flows, retry=None)
    assert_type(timers, TimersClient)
    async with flows as entered:
        assert_type(entered, FlowsClient)
    async with timers as entered_timers:
        assert_type(entered_timers, TimersClient)
    assert_type(await flows.aclose(), None)
    assert_type(pooled_http_client(), httpx.AsyncClient)


def retry_policy_signatures() -> None:
    policy = RetryPolicy()
    assert_type(policy.max_retries, int)
    assert_type(policy.backoff_initial, float)
    assert_type(policy.backoff_max, float)
    assert_type(policy.retry_after_max, float)
    assert_type(policy.max_elapsed, float | None)
    assert_type(policy.exactly_once_starts, bool)
    assert_type(RetryPolicy.disabled(), RetryPolicy)

    def log(event: RetryEvent) -> None:
        print(event)

    assert_type(
        RetryPolicy(on_retry=log).on_retry, Callable[[RetryEvent], Awaitable[None] | None] | None
    )


async def authorizer_signatures(http: httpx.AsyncClient) -> None:
    static = AccessTokenAuthorizer("token")
    by_server = TokenMapAuthorizer({"flows.globus.org": "a"}, default="b")
    callback = CallbackAuthorizer(lambda resource_server: "token")
    service = ClientCredentialsAuthorizer(
        "client-id", "secret", ["scope-a", "scope-b"], auth_url=None, http_client=http
    )

    async def keep(response: TokenResponse) -> None:
        assert_type(response, TokenResponse)

    user = RefreshTokenAuthorizer(
        "client-id", "refresh-token", client_secret=None, on_refresh=keep, http_client=http
    )
    every: list[Authorizer] = [static, by_server, callback, service, user]
    for authorizer in every:
        header = await authorizer.get_authorization_header("flows.globus.org")
        assert_type(header, str | None)
        assert_type(await authorizer.handle_unauthorized("flows.globus.org", header), bool)


def emulator_signatures() -> None:
    fake = FakeGlobus(clock=FakeClock(datetime(2026, 1, 1, tzinfo=UTC)))
    assert_type(fake.add_flow(title="t", duration=5.0), str)
    assert_type(fake.token, str)
    assert_type(fake.flows_client(), FlowsClient)
    assert_type(fake.timers_client(), TimersClient)
    assert_type(fake.clock.advance(60), None)
    assert_type(fake.clock.now(), datetime)
