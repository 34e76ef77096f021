"""Which way a request leaves when the client's HTTP client is not the library's own pool.

A client this module made on a transport of the caller's (``transport=``, the emulator's,
``pooled_http_client(transport=...)``) hands its requests straight to that transport; a
client the caller made, or one with hooks, auth or cookies added, goes through
``httpx.AsyncClient.send`` so that everything the caller set up sees every request.
"""

from __future__ import annotations

import json

import anyio
import httpx
import pytest

from globus_runs import (
    APITimeoutError,
    FlowsClient,
    InvalidRequestError,
    RetryPolicy,
    pooled_http_client,
)
from globus_runs._http.prepare import DEFAULT_HEADERS

pytestmark = pytest.mark.anyio

BASE = "https://flows.example.org"
RUN_ID = "00000000-0000-4000-8000-000000000001"
FLOW_ID = "00000000-0000-4000-8000-0000000000f1"
RUN = json.dumps(
    {
        "run_id": RUN_ID,
        "action_id": RUN_ID,
        "flow_id": FLOW_ID,
        "status": "ACTIVE",
        "start_time": "2026-12-04T10:00:00+00:00",
    }
).encode()


class Recorder:
    """A mock transport's handler: records each request, answers the run with a cookie."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(
            200,
            content=RUN,
            headers={"Content-Type": "application/json", "Set-Cookie": "session=abc; Path=/"},
        )


async def test_a_client_on_a_given_transport_sends_straight_to_it() -> None:
    recorder = Recorder()
    async with FlowsClient(
        authorizer="tok-secret", base_url=BASE, transport=httpx.MockTransport(recorder)
    ) as flows:
        assert (await flows.get_run(RUN_ID)).run_id == RUN_ID
        await flows.cancel_run(RUN_ID)
    first, second = recorder.requests
    for name, value in DEFAULT_HEADERS:
        assert first.headers[name] == value
    assert first.headers["Authorization"] == "Bearer tok-secret"
    assert first.headers["Host"] == "flows.example.org"
    assert str(first.url) == f"{BASE}/runs/{RUN_ID}"
    assert first.extensions["timeout"] == httpx.Timeout(60.0).as_dict()
    assert (second.method, second.url.path) == ("POST", f"/runs/{RUN_ID}/cancel")
    # No cookie jar on this way: what a server sets is not sent back, as on the own pool.
    assert "Cookie" not in second.headers


async def test_the_timeout_given_reaches_the_transport() -> None:
    recorder = Recorder()
    async with FlowsClient(
        authorizer="tok", base_url=BASE, transport=httpx.MockTransport(recorder), timeout=7.5
    ) as flows:
        await flows.get_run(RUN_ID)
    assert recorder.requests[0].extensions["timeout"] == httpx.Timeout(7.5).as_dict()


async def test_the_attempt_deadline_bounds_a_transport_that_never_answers() -> None:
    async def never(request: httpx.Request) -> httpx.Response:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async with FlowsClient(
        authorizer="tok",
        base_url=BASE,
        transport=httpx.MockTransport(never),
        timeout=0.2,
        retry=RetryPolicy.disabled(),
    ) as flows:
        with anyio.fail_after(30), pytest.raises(APITimeoutError) as caught:
            await flows.get_run(RUN_ID)
    assert caught.value.url == f"{BASE}/runs/{RUN_ID}"


async def test_a_closed_client_refuses_to_send_on_this_way_too() -> None:
    recorder = Recorder()
    flows = FlowsClient(authorizer="tok", base_url=BASE, transport=httpx.MockTransport(recorder))
    await flows.aclose()
    with pytest.raises(InvalidRequestError, match="the HTTP client is closed"):
        await flows.get_run(RUN_ID)
    assert recorder.requests == []


async def test_a_shared_client_closed_by_its_owner_is_refused_at_once() -> None:
    recorder = Recorder()
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as http:
        flows = FlowsClient(authorizer="tok", base_url=BASE, http_client=http)
    with pytest.raises(InvalidRequestError, match="the HTTP client is closed") as caught:
        await flows.get_run(RUN_ID)
    assert caught.value.attempts == 1
    assert recorder.requests == []


async def test_a_shared_pooled_client_on_a_transport_sends_straight_to_it() -> None:
    recorder = Recorder()
    async with pooled_http_client(4, transport=httpx.MockTransport(recorder)) as http:
        async with FlowsClient(authorizer="tok", base_url=BASE, http_client=http) as flows:
            await flows.get_run(RUN_ID)
            await flows.get_run(RUN_ID)
        assert not http.is_closed  # shared: the Flows client does not close it
    assert len(recorder.requests) == 2
    # Straight to the transport: the cookie set by the first answer is not sent back.
    assert "Cookie" not in recorder.requests[1].headers
    assert recorder.requests[1].headers["User-Agent"] == dict(DEFAULT_HEADERS)["User-Agent"]


async def test_hooks_added_to_a_pooled_client_see_every_request() -> None:
    recorder = Recorder()
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.url.path)

    async with pooled_http_client(4, transport=httpx.MockTransport(recorder)) as http:
        http.event_hooks = {"request": [hook]}
        async with FlowsClient(authorizer="tok", base_url=BASE, http_client=http) as flows:
            await flows.get_run(RUN_ID)
    assert seen == [f"/runs/{RUN_ID}"]


async def test_a_callers_client_keeps_its_headers_cookies_and_hooks() -> None:
    recorder = Recorder()
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.url.path)

    async with (
        httpx.AsyncClient(
            transport=httpx.MockTransport(recorder),
            headers={"X-Team": "beamline-7"},
            event_hooks={"request": [hook]},
        ) as http,
        FlowsClient(authorizer="tok", base_url=BASE, http_client=http) as flows,
    ):
        await flows.get_run(RUN_ID)
        await flows.get_run(RUN_ID)
    first, second = recorder.requests
    assert first.headers["X-Team"] == "beamline-7"
    assert first.headers["Authorization"] == "Bearer tok"
    assert second.headers["Cookie"] == "session=abc"  # the caller's cookie jar is used
    assert seen == [f"/runs/{RUN_ID}"] * 2
