"""The transport core through FlowsClient, on a scripted transport: errors, retries, secrets."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import anyio
import httpcore
import httpx
import pytest

from globus_runs import (
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ConnectError,
    FlowsClient,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseParseError,
    RetryEvent,
    RetryPolicy,
    RunNotFoundError,
    ServerError,
    UnprocessableEntityError,
)

pytestmark = pytest.mark.anyio

RUN_ID = "36ad9f9a-ad29-488f-beb4-c22ab729643a"
FLOW_ID = "24bc4997-b483-4c25-a19c-64b0afc00743"
SECRET = "tok-SECRET-123"
FAST = RetryPolicy(max_retries=3, backoff_initial=0.001, backoff_max=0.002)
RUN_DOC = {"run_id": RUN_ID, "flow_id": FLOW_ID, "status": "ACTIVE"}

Handler = Callable[[httpx.Request], httpx.Response]


class Script:
    """Answers requests from a list of responses (or exceptions), recording each request."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers: Iterator[httpx.Response | Exception] = iter(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = next(self.answers)
        if isinstance(answer, Exception):
            raise answer
        return answer


def client(script: Script, retry: RetryPolicy = FAST) -> FlowsClient:
    return FlowsClient(
        authorizer=SECRET,
        base_url="https://flows.automate.globus.org",
        transport=httpx.MockTransport(script),
        retry=retry,
    )


def error_json(status: int, code: str, detail: str = "d") -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"code": code, "detail": detail}, "debug_id": "dbg-1"}
    )


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "FLOW_INPUT_ERROR", BadRequestError),
        (401, "AUTHENTICATION_ERROR", AuthenticationError),
        (403, "MISSING_SCOPE", PermissionDeniedError),
        (404, "NOT_FOUND", RunNotFoundError),
        (409, "STATE_CONFLICT", ConflictError),
        (422, "UNPROCESSABLE", UnprocessableEntityError),
    ],
)
async def test_client_errors_map_to_their_classes_without_retry(
    status: int, code: str, cls: type[APIError]
) -> None:
    script = Script(error_json(status, code))
    async with client(script) as flows:
        with pytest.raises(cls) as info:
            await flows.get_run(RUN_ID)
    assert len(script.requests) == 1
    assert (info.value.http_status, info.value.code, info.value.request_id) == (
        status,
        code,
        "dbg-1",
    )
    assert info.value.url == f"https://flows.automate.globus.org/runs/{RUN_ID}"


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_transient_errors_are_retried_then_succeed(status: int) -> None:
    script = Script(error_json(status, "BUSY"), httpx.Response(200, json=RUN_DOC))
    async with client(script) as flows:
        run = await flows.get_run(RUN_ID)
    assert run.run_id == RUN_ID
    assert len(script.requests) == 2


@pytest.mark.parametrize(("status", "cls"), [(429, RateLimitError), (503, ServerError)])
async def test_retries_are_bounded(status: int, cls: type[APIError]) -> None:
    script = Script(*[error_json(status, "BUSY") for _ in range(4)])
    async with client(script) as flows:
        with pytest.raises(cls):
            await flows.get_run(RUN_ID)
    assert len(script.requests) == 4


async def test_run_flow_is_not_retried_after_a_5xx() -> None:
    script = Script(error_json(502, "BAD_GATEWAY"), httpx.Response(201, json=RUN_DOC))
    async with client(script) as flows:
        with pytest.raises(ServerError):
            await flows.run_flow(FLOW_ID, {})
    assert len(script.requests) == 1


async def test_run_flow_is_not_retried_after_a_read_timeout() -> None:
    script = Script(httpx.ReadTimeout("slow"), httpx.Response(201, json=RUN_DOC))
    async with client(script) as flows:
        with pytest.raises(APITimeoutError):
            await flows.run_flow(FLOW_ID, {})
    assert len(script.requests) == 1


def httpcore_connect_error() -> httpx.ConnectError:
    """A connect error as httpx's own transport raises it: caused by httpcore's."""
    error = httpx.ConnectError("refused")
    error.__cause__ = httpcore.ConnectError("refused")
    return error


async def test_run_flow_is_retried_after_a_connect_error_and_a_429() -> None:
    script = Script(
        httpcore_connect_error(),
        error_json(429, "RATE_LIMITED"),
        httpx.Response(201, json=RUN_DOC),
    )
    async with client(script) as flows:
        run = await flows.run_flow(FLOW_ID, {"a": 1})
    assert run.run_id == RUN_ID
    assert len(script.requests) == 3
    assert {r.content for r in script.requests} == {b'{"body":{"a":1}}'}


async def test_get_run_is_retried_after_a_dropped_connection() -> None:
    script = Script(httpx.RemoteProtocolError("closed"), httpx.Response(200, json=RUN_DOC))
    async with client(script) as flows:
        assert (await flows.get_run(RUN_ID)).run_id == RUN_ID


async def test_network_failures_become_typed_errors() -> None:
    script = Script(*[httpcore_connect_error() for _ in range(4)])
    async with client(script) as flows:
        with pytest.raises(ConnectError) as info:
            await flows.get_run(RUN_ID)
    assert isinstance(info.value, NetworkError)
    script = Script(httpx.ReadError("reset"))
    async with client(script, RetryPolicy.disabled()) as flows:
        with pytest.raises(NetworkError, match="ReadError"):
            await flows.get_run(RUN_ID)


async def test_a_404_from_run_flow_is_not_run_not_found() -> None:
    script = Script(error_json(404, "NOT_FOUND"))
    async with client(script) as flows:
        with pytest.raises(NotFoundError) as info:
            await flows.run_flow(FLOW_ID, {})
    assert not isinstance(info.value, RunNotFoundError)


@pytest.mark.parametrize(
    "body",
    [b"<html><body><h1>502 Bad Gateway</h1></body></html>", b"", b'{"error": {"code": "X"'],
)
async def test_odd_error_bodies_become_clean_api_errors(body: bytes) -> None:
    script = Script(httpx.Response(502, content=body))
    async with client(script, RetryPolicy.disabled()) as flows:
        with pytest.raises(ServerError) as info:
            await flows.get_run(RUN_ID)
    assert info.value.http_status == 502
    assert info.value.body == body.decode()


@pytest.mark.parametrize(
    "content",
    [b"not json", b'{"run_id": "x"', b"[]", b'{"run_id": 1, "flow_id": "f", "status": "A"}'],
)
async def test_a_malformed_2xx_body_is_a_response_parse_error(content: bytes) -> None:
    script = Script(httpx.Response(200, content=content))
    async with client(script) as flows:
        with pytest.raises(ResponseParseError) as info:
            await flows.get_run(RUN_ID)
    assert info.value.text == content.decode()
    assert len(script.requests) == 1


async def test_retry_after_is_slept_as_given() -> None:
    script = Script(
        httpx.Response(429, headers={"Retry-After": "0.05"}), httpx.Response(200, json=RUN_DOC)
    )
    events: list[RetryEvent] = []
    policy = RetryPolicy(on_retry=events.append)
    async with client(script, policy) as flows:
        started = anyio.current_time()
        await flows.get_run(RUN_ID)
        elapsed = anyio.current_time() - started
    assert elapsed >= 0.05
    assert [(e.attempt, e.delay, type(e.error)) for e in events] == [(1, 0.05, RateLimitError)]


async def test_retry_after_beyond_the_callers_deadline_fails_fast() -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "30"}))
    async with client(script) as flows:
        started = anyio.current_time()
        with anyio.fail_after(5), pytest.raises(RateLimitError) as info:
            await flows.get_run(RUN_ID)
        assert anyio.current_time() - started < 4
    assert info.value.retry_after == 30.0
    assert len(script.requests) == 1


async def test_retry_after_beyond_the_policy_cap_fails_fast() -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "600"}))
    async with client(script) as flows:
        with pytest.raises(RateLimitError):
            await flows.get_run(RUN_ID)
    assert len(script.requests) == 1


async def test_a_static_tokens_401_is_raised_not_retried() -> None:
    script = Script(error_json(401, "AUTHENTICATION_ERROR"))
    async with client(script) as flows:
        with pytest.raises(AuthenticationError):
            await flows.get_run(RUN_ID)
    assert len(script.requests) == 1


async def test_redirects_are_not_followed() -> None:
    script = Script(httpx.Response(302, headers={"Location": "https://evil.example/steal"}))
    async with client(script) as flows:
        with pytest.raises(APIError) as info:
            await flows.get_run(RUN_ID)
    assert info.value.http_status == 302
    assert len(script.requests) == 1


async def test_no_token_in_errors_reprs_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    script = Script(
        error_json(503, "BUSY"), error_json(401, "AUTHENTICATION_ERROR", f"bad {SECRET[:3]}")
    )
    async with client(script) as flows:
        assert SECRET not in repr(flows)
        assert SECRET not in repr(flows.authorizer)
        with pytest.raises(AuthenticationError) as info:
            await flows.get_run(RUN_ID)
    assert script.requests[0].headers["authorization"] == f"Bearer {SECRET}"
    for text in (str(info.value), repr(info.value), caplog.text):
        assert SECRET not in text
    assert "retry 1 of 3" in caplog.text


async def test_a_shared_http_client_is_never_closed() -> None:
    script = Script(httpx.Response(200, json=RUN_DOC), httpx.Response(200, json=RUN_DOC))
    async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as shared:
        for _ in range(2):
            async with FlowsClient(
                authorizer=SECRET, http_client=shared, base_url="https://flows.example.org"
            ) as flows:
                await flows.get_run(RUN_ID)
        assert not shared.is_closed
    assert [str(r.url) for r in script.requests] == [f"https://flows.example.org/runs/{RUN_ID}"] * 2


async def test_an_owned_http_client_is_closed() -> None:
    flows = FlowsClient(authorizer=SECRET)
    assert flows.base_url == "https://flows.automate.globus.org"
    await flows.aclose()
    assert flows._transport.http_client.is_closed


def test_environment_picks_the_service_url() -> None:
    assert FlowsClient(environment="sandbox").base_url == (
        "https://sandbox.flows.automate.globus.org"
    )
    with pytest.raises(ConfigurationError):
        FlowsClient(environment="bad env/")
    with pytest.raises(ConfigurationError):
        FlowsClient(base_url="http://flows.example.org")


async def test_no_authorizer_sends_no_authorization_header() -> None:
    script = Script(httpx.Response(200, json=RUN_DOC))
    async with FlowsClient(
        base_url="https://f.example.org", transport=httpx.MockTransport(script)
    ) as flows:
        await flows.get_run(RUN_ID)
    assert "authorization" not in script.requests[0].headers
    assert script.requests[0].content == b""
