"""Waits end when the service cannot be reached, and wait_for_runs checks at once."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import anyio
import pytest

from globus_runs import (
    AuthenticationError,
    ConnectError,
    FlowsClient,
    PermissionDeniedError,
    RetryEvent,
    RetryPolicy,
    Run,
    RunStatus,
    RunStatusEvent,
    ServerError,
)
from globus_runs.testing import FakeClock, FakeGlobus, asgi_transport

pytestmark = pytest.mark.anyio

RUN_ID = "36ad9f9a-ad29-488f-beb4-c22ab729643a"
POLL = 0.001
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def refused_url() -> str:
    """A loopback URL nothing listens on: connections to it are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/flows"


def quick_policy(events: list[RetryEvent], *, max_retries: int = 2) -> RetryPolicy:
    return RetryPolicy(
        max_retries=max_retries,
        backoff_initial=0.001,
        backoff_max=0.001,
        on_retry=events.append,
    )


def a_run(run_id: str = RUN_ID, flow_id: str = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d") -> Run:
    return Run(
        run_id=run_id,
        flow_id=flow_id,
        status=RunStatus.ACTIVE,
        start_time=START,
        raw={},
    )


async def test_wait_for_run_on_a_refused_port_raises_after_the_policys_attempts() -> None:
    events: list[RetryEvent] = []
    url = refused_url()
    async with FlowsClient(authorizer="t", base_url=url, retry=quick_policy(events)) as flows:
        with pytest.raises(ConnectError) as info:
            await flows.wait_for_run(RUN_ID, poll_interval=POLL)
    # Three polls (max_retries + 1), each sent three times: two retries per poll.
    assert [(e.method, e.url, e.attempt) for e in events] == [
        ("GET", f"{url}/runs/{RUN_ID}", attempt) for _ in range(3) for attempt in (1, 2)
    ]
    assert info.value.url == f"{url}/runs/{RUN_ID}"
    assert info.value.attempts == 3


async def test_wait_for_runs_on_a_refused_port_raises_while_looking_runs_up() -> None:
    events: list[RetryEvent] = []
    url = refused_url()
    async with FlowsClient(authorizer="t", base_url=url, retry=quick_policy(events)) as flows:
        with pytest.raises(ConnectError):
            await flows.wait_for_runs([RUN_ID], poll_interval=POLL)
    assert [(e.url, e.attempt) for e in events] == [
        (f"{url}/runs/{RUN_ID}", attempt) for _ in range(3) for attempt in (1, 2)
    ]


async def test_wait_for_runs_on_a_refused_port_raises_while_listing() -> None:
    events: list[RetryEvent] = []
    url = refused_url()
    async with FlowsClient(authorizer="t", base_url=url, retry=quick_policy(events)) as flows:
        with pytest.raises(ConnectError) as info:
            await flows.wait_for_runs([a_run()], poll_interval=POLL)
    assert len(events) == 6
    assert {e.url.split("?")[0] for e in events} == {f"{url}/runs"}
    assert info.value.url.startswith(f"{url}/runs?")


async def test_watch_run_on_a_refused_port_raises_after_the_policys_attempts() -> None:
    events: list[RetryEvent] = []
    url = refused_url()
    async with FlowsClient(authorizer="t", base_url=url, retry=quick_policy(events)) as flows:
        with pytest.raises(ConnectError):
            async for _ in flows.watch_run(RUN_ID, poll_interval=POLL):
                pass  # pragma: no cover - nothing can be received
    assert [(e.url, e.attempt) for e in events] == [
        (f"{url}/runs/{RUN_ID}", attempt) for _ in range(3) for attempt in (1, 2)
    ]


async def test_a_spent_max_elapsed_ends_the_wait_at_the_first_failed_poll() -> None:
    events: list[RetryEvent] = []
    policy = RetryPolicy(max_retries=100, max_elapsed=0.0, on_retry=events.append)
    async with FlowsClient(authorizer="t", base_url=refused_url(), retry=policy) as flows:
        with pytest.raises(ConnectError) as info:
            await flows.wait_for_run(RUN_ID, poll_interval=POLL)
    assert events == []
    assert info.value.attempts == 1


class FailAllBut:
    """An ASGI wrapper answering 503 to every request but each ``every``-th one."""

    def __init__(self, app: ASGIApp, every: int) -> None:
        self.app = app
        self.every = every
        self.seen = 0
        self.failed = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen += 1
            if self.seen % self.every:
                self.failed += 1
                await send({"type": "http.response.start", "status": 503, "headers": []})
                await send({"type": "http.response.body", "body": b""})
                return
        await self.app(scope, receive, send)


async def test_the_count_of_failed_polls_starts_again_after_a_successful_one() -> None:
    fake = FakeGlobus(clock=FakeClock(START))
    flow_id = fake.add_flow(duration=10.0)
    [run_id] = fake.add_runs(flow_id, 1)
    # Two failed polls of three attempts each, then an answer: never three failed polls in a row.
    flaky = FailAllBut(fake.app, every=7)
    events: list[RetryEvent] = []
    answers = 0

    async with FlowsClient(
        authorizer=fake.token,
        base_url=fake.flows_url,
        transport=asgi_transport(flaky),
        retry=quick_policy(events),
    ) as flows:
        async for event in flows.watch_run(run_id, poll_interval=POLL, include_logs=False):
            answers += 1
            fake.clock.advance(20.0)
            assert isinstance(event, RunStatusEvent)
            assert event.run.status == (RunStatus.ACTIVE if answers == 1 else "SUCCEEDED")
    assert answers == 2
    assert flaky.failed == 12  # two rounds of two failed polls: four polls past the bound


async def test_a_run_answered_with_503_past_the_bound_raises_the_server_error() -> None:
    fake = FakeGlobus(clock=FakeClock(START))
    [run_id] = fake.add_runs(fake.add_flow(), 1)
    flaky = FailAllBut(fake.app, every=10)
    events: list[RetryEvent] = []
    async with FlowsClient(
        authorizer=fake.token,
        base_url=fake.flows_url,
        transport=asgi_transport(flaky),
        retry=quick_policy(events),
    ) as flows:
        with pytest.raises(ServerError) as info:
            await flows.wait_for_run(run_id, poll_interval=POLL)
    assert info.value.http_status == 503
    assert flaky.failed == 9


async def test_a_rejected_static_token_ends_the_wait_at_once() -> None:
    fake = FakeGlobus(clock=FakeClock(START))
    [run_id] = fake.add_runs(fake.add_flow(), 1)
    events: list[RetryEvent] = []
    async with fake.flows_client(authorizer="not-a-token", retry=quick_policy(events)) as flows:
        with pytest.raises(AuthenticationError):
            await flows.wait_for_run(run_id, poll_interval=POLL)
        with pytest.raises(AuthenticationError):
            await flows.wait_for_runs([run_id], poll_interval=POLL)
    assert [(r.method, r.path) for r in fake.requests] == [("GET", f"/runs/{run_id}")] * 2
    assert events == []


async def test_a_token_missing_the_flows_scope_ends_the_wait_at_once() -> None:
    fake = FakeGlobus(clock=FakeClock(START))
    [run_id] = fake.add_runs(fake.add_flow(), 1)
    token = fake.issue_token(identity_id=fake.identity_id, resource_servers=["other"])
    async with fake.flows_client(authorizer=token, retry=quick_policy([])) as flows:
        with pytest.raises(PermissionDeniedError) as info:
            await flows.wait_for_run(run_id, poll_interval=POLL)
    assert info.value.code == "MISSING_SCOPE"
    assert [(r.method, r.path) for r in fake.requests] == [("GET", f"/runs/{run_id}")]


async def test_wait_for_runs_lists_at_once_for_runs_that_have_already_ended() -> None:
    fake = FakeGlobus(clock=FakeClock(START))
    flow_id = fake.add_flow(duration=10.0)
    async with fake.flows_client(retry=RetryPolicy.disabled()) as flows:
        started = [await flows.run_flow(flow_id, {"i": i}) for i in range(3)]
        fake.clock.advance(60.0)
        fake.clear_requests()
        with anyio.fail_after(30):  # a guard: one poll interval would be an hour
            finished = await flows.wait_for_runs(started, poll_interval=3600)
    assert [run.run_id for run in finished] == [run.run_id for run in started]
    assert [run.status for run in finished] == ["SUCCEEDED"] * 3
    [listing] = fake.requests
    assert (listing.method, listing.path) == ("GET", "/runs")
    assert listing.params["filter_flow_id"] == flow_id
    assert listing.params["filter_status"] == "ENDED,FAILED,SUCCEEDED"
