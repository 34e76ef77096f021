"""Run starts after ambiguous failures: blind mode never retries, exactly-once mode looks up."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

from globus_runs import FlowsClient, RetryEvent, RetryPolicy, ServerError
from globus_runs.testing import FakeClock, FakeGlobus, asgi_transport

# How a start's request tag reads on the run (docs/guides/batches.md).
REQUEST_TAG_PREFIX = "globus-runs-request:"

pytestmark = pytest.mark.anyio

FAST: dict[str, Any] = {"backoff_initial": 0.001, "backoff_max": 0.002}


class LoseAnswers:
    """Handles the first ``count`` run starts (when ``process``) but answers them with a 502."""

    def __init__(self, app: Any, count: int, *, process: bool) -> None:
        self.app = app
        self.count = count
        self.process = process
        self.lost = 0
        self.starts = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        is_start = scope["type"] == "http" and scope["path"].endswith("/run")
        self.starts += is_start
        if not is_start or self.lost >= self.count:
            await self.app(scope, receive, send)
            return
        self.lost += 1
        if self.process:

            async def discard(message: Any) -> None:
                return None

            await self.app(scope, receive, discard)
        await send({"type": "http.response.start", "status": 502, "headers": []})
        await send({"type": "http.response.body", "body": b"<h1>Bad Gateway</h1>"})


def _client(fake: FakeGlobus, app: Any, **policy: Any) -> FlowsClient:
    return fake.flows_client(app=app, retry=RetryPolicy(**FAST, **policy))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()  # starts now: look-ups search recent start times


async def test_by_default_a_lost_answer_is_raised_and_not_retried(fake: FakeGlobus) -> None:
    flow_id = fake.add_flow()
    lossy = LoseAnswers(fake.app, 1, process=True)
    async with _client(fake, lossy) as flows:
        with pytest.raises(ServerError):
            await flows.run_flow(flow_id, {"x": 1})
    assert len(fake.runs) == 1  # started once, never twice


async def test_exactly_once_finds_the_run_whose_answer_was_lost(fake: FakeGlobus) -> None:
    flow_id = fake.add_flow()
    lossy = LoseAnswers(fake.app, 1, process=True)
    async with _client(fake, lossy, exactly_once_starts=True) as flows:
        run = await flows.run_flow(flow_id, {"x": 1}, label="once", tags=["mine"])
    assert len(fake.runs) == 1
    assert run.run_id in fake.runs
    assert run.label == "once"
    [tag] = [t for t in run.tags if t.startswith(REQUEST_TAG_PREFIX)]
    assert run.tags == ["mine", tag]
    methods = [(r.method, r.path.split("?")[0]) for r in fake.requests]
    assert methods == [("POST", f"/flows/{flow_id}/run"), ("GET", "/runs")]
    lookup = fake.requests[1].params
    assert lookup["filter_flow_id"] == flow_id
    assert lookup["filter_label"] == "once"
    assert lookup["filter_start_time"].endswith(",")


async def test_exactly_once_looks_up_the_request_tag_the_caller_gave(fake: FakeGlobus) -> None:
    # A driver that recorded its tag before sending: the start carries that tag alone.
    flow_id = fake.add_flow()
    given = f"{REQUEST_TAG_PREFIX}00000000-0000-4000-8000-00000000abcd"
    lossy = LoseAnswers(fake.app, 1, process=True)
    async with _client(fake, lossy, exactly_once_starts=True) as flows:
        run = await flows.run_flow(flow_id, {"x": 1}, tags=["mine", given])
    assert run.tags == ["mine", given]
    assert [r.tags for r in fake.runs.values()] == [["mine", given]]


async def test_exactly_once_sends_again_when_the_run_was_not_started(fake: FakeGlobus) -> None:
    flow_id = fake.add_flow()
    lossy = LoseAnswers(fake.app, 2, process=False)
    async with _client(fake, lossy, exactly_once_starts=True) as flows:
        run = await flows.run_flow(flow_id, {"x": 1})
    assert list(fake.runs) == [run.run_id]
    assert lossy.starts == 3
    [delivered] = [r for r in fake.requests if r.method == "POST"]
    assert any(t.startswith(REQUEST_TAG_PREFIX) for t in delivered.json["tags"])


async def test_exactly_once_gives_up_after_max_retries(fake: FakeGlobus) -> None:
    flow_id = fake.add_flow()
    lossy = LoseAnswers(fake.app, 10, process=False)
    async with _client(fake, lossy, exactly_once_starts=True, max_retries=2) as flows:
        with pytest.raises(ServerError):
            await flows.run_flow(flow_id, {})
    assert len(fake.runs) == 0
    assert lossy.starts == 3


async def test_exactly_once_does_not_resend_past_max_elapsed(fake: FakeGlobus) -> None:
    flow_id = fake.add_flow()
    lossy = LoseAnswers(fake.app, 10, process=False)
    policy = RetryPolicy(backoff_initial=10.0, max_elapsed=5.0, exactly_once_starts=True)
    async with fake.flows_client(app=lossy, retry=policy) as flows:
        with pytest.raises(ServerError) as caught:
            await flows.run_flow(flow_id, {})
    assert caught.value.attempts == 1
    assert lossy.starts == 1
    assert [r.method for r in fake.requests] == ["GET"]  # looked up once, then gave up


async def test_exactly_once_does_not_resend_past_the_callers_deadline(fake: FakeGlobus) -> None:
    flow_id = fake.add_flow()
    lossy = LoseAnswers(fake.app, 10, process=False)
    policy = RetryPolicy(backoff_initial=10.0, max_elapsed=None, exactly_once_starts=True)
    async with fake.flows_client(app=lossy, retry=policy) as flows:
        with anyio.fail_after(5.0), pytest.raises(ServerError):
            await flows.run_flow(flow_id, {})
    assert lossy.starts == 1


async def test_exactly_once_resends_are_retries_of_the_policy(fake: FakeGlobus) -> None:
    flow_id = fake.add_flow()
    lossy = LoseAnswers(fake.app, 10, process=False)
    events: list[RetryEvent] = []
    async with _client(
        fake, lossy, exactly_once_starts=True, max_retries=2, on_retry=events.append
    ) as flows:
        with pytest.raises(ServerError) as caught:
            await flows.run_flow(flow_id, {})
    assert caught.value.attempts == 3
    assert [(e.method, e.attempt, type(e.error)) for e in events] == [
        ("POST", 1, ServerError),
        ("POST", 2, ServerError),
    ]
    assert [r.method for r in fake.requests] == ["GET", "GET", "GET"]


@pytest.mark.in_process_only("the foreign transport wraps the in-process app")
async def test_exactly_once_looks_up_after_a_foreign_transports_connect_error(
    fake: FakeGlobus,
) -> None:
    flow_id = fake.add_flow()
    inner = asgi_transport(fake.app)

    class HangsUpAfterReading(httpx.AsyncBaseTransport):
        """Starts the run, then reports the lost answer as ConnectTimeout (as httpx-aiohttp)."""

        def __init__(self) -> None:
            self.starts = 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            answer = await inner.handle_async_request(request)
            if request.url.path.endswith("/run"):
                self.starts += 1
                await answer.aread()
                raise httpx.ConnectTimeout("timed out", request=request)
            return answer

    transport = HangsUpAfterReading()
    async with FlowsClient(
        authorizer=fake.token,
        base_url=fake.flows_url,
        transport=transport,
        retry=RetryPolicy(**FAST, exactly_once_starts=True),
    ) as flows:
        run = await flows.run_flow(flow_id, {"x": 1})
    assert list(fake.runs) == [run.run_id]
    assert transport.starts == 1
    assert [r.method for r in fake.requests] == ["POST", "GET"]
