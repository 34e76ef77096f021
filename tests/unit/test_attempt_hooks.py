"""The attempt loop's look-up hook (what exactly-once starts plug in): it runs before any
resend of a request that is not idempotent, what it finds is the call's answer, and its
repeats are retries of the same loop (budget, deadline, attempts counted)."""

from __future__ import annotations

import httpx
import pytest

from globus_runs import NetworkError, ResponseParseError, RetryPolicy, ServerError
from globus_runs._errors import GlobusRunsError
from globus_runs._http.attempts import Found, Response, ServiceCaller
from globus_runs._wire import ApiRequest

pytestmark = pytest.mark.anyio

BASE = "https://flows.example.org"
START = ApiRequest("POST", "/flows/x/run", "flows", body=b"{}", idempotent=False)


class Script:
    """A mock transport's handler answering each request with the next status and body."""

    def __init__(self, *answers: tuple[int, bytes]) -> None:
        self.answers = list(answers)
        self.sent = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        status, body = self.answers.pop(0)
        return httpx.Response(status, content=body)


def caller(script: Script, max_retries: int = 3) -> ServiceCaller:
    return ServiceCaller(
        base_url=BASE,
        authorizer=None,
        http_client=None,
        transport=httpx.MockTransport(script),
        timeout=30.0,
        retry=RetryPolicy(max_retries=max_retries, backoff_initial=0.01, jitter=False),
        concurrency=1,
    )


def read(response: Response) -> str:
    value = response.json()
    if not isinstance(value, dict) or "id" not in value:
        raise ResponseParseError("no id", text=response.text())
    return str(value["id"])


async def test_what_the_look_up_finds_after_a_5xx_is_the_answer_and_nothing_is_resent() -> None:
    script = Script((502, b"bad gateway"))
    seen: list[GlobusRunsError] = []

    async def recheck(error: GlobusRunsError) -> bool | Found[str] | None:
        seen.append(error)
        return Found("made-before")

    answer = await caller(script).send(START, read=read, recheck=recheck)
    assert answer == "made-before"
    assert script.sent == 1
    assert isinstance(seen[0], ServerError)


async def test_a_request_proved_without_effect_is_sent_again() -> None:
    script = Script((503, b""), (200, b'{"id": "new"}'))

    async def recheck(error: GlobusRunsError) -> bool | Found[str] | None:
        return True

    assert await caller(script).send(START, read=read, recheck=recheck) == "new"
    assert script.sent == 2


async def test_an_answer_the_reader_refuses_goes_to_the_look_up_not_to_a_resend() -> None:
    script = Script((201, b'{"no": "id"}'))
    verdicts: list[bool | Found[str] | None] = [Found("it-was-made")]

    async def recheck(error: GlobusRunsError) -> bool | Found[str] | None:
        assert isinstance(error, ResponseParseError)
        return verdicts.pop(0)

    assert await caller(script).send(START, read=read, recheck=recheck) == "it-was-made"
    assert script.sent == 1


async def test_an_unreadable_answer_not_found_by_the_look_up_is_raised_not_resent() -> None:
    script = Script((201, b'{"no": "id"}'))

    async def recheck(error: GlobusRunsError) -> bool | Found[str] | None:
        return False

    with pytest.raises(ResponseParseError) as raised:
        await caller(script).send(START, read=read, recheck=recheck)
    assert script.sent == 1
    assert raised.value.attempts == 1


async def test_failing_look_ups_spend_the_loops_retries_then_raise_the_first_error() -> None:
    script = Script((500, b"boom"))
    looks = 0

    async def recheck(error: GlobusRunsError) -> bool | Found[str] | None:
        nonlocal looks
        looks += 1
        return None

    with pytest.raises(ServerError) as raised:
        await caller(script, max_retries=3).send(START, read=read, recheck=recheck)
    assert script.sent == 1
    # One look-up at once, then one after each of the max_retries waits.
    assert looks == 4
    assert raised.value.attempts == 1


async def test_without_a_hook_a_request_that_is_not_idempotent_is_never_resent() -> None:
    script = Script((502, b""))
    with pytest.raises(ServerError):
        await caller(script).send(START, read=read)
    assert script.sent == 1


async def test_a_lost_answer_of_an_idempotent_request_needs_no_hook() -> None:
    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection dropped", request=request)

    service = ServiceCaller(
        base_url=BASE,
        authorizer=None,
        http_client=None,
        transport=httpx.MockTransport(drop),
        timeout=30.0,
        retry=RetryPolicy(max_retries=2, backoff_initial=0.01, jitter=False),
        concurrency=1,
    )
    with pytest.raises(NetworkError) as raised:
        await service.send(ApiRequest("GET", "/runs", "flows"))
    assert raised.value.attempts == 3
