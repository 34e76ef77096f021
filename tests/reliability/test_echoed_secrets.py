"""A server that echoes the request never puts a secret into an error, a traceback or a log.

The echo server answers 400 with the whole request (head and body) in its error message and
the Authorization header as its request id, over the library's own pool and through httpx.
"""

from __future__ import annotations

import base64
import logging
import traceback
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from urllib.parse import quote_plus

import httpx
import pytest

from globus_runs import (
    APIError,
    BadRequestError,
    ClientCredentialsAuthorizer,
    FlowsClient,
    RefreshTokenAuthorizer,
    ResponseParseError,
    RetryPolicy,
)

from ._echo import echo_server

pytestmark = pytest.mark.anyio

TOKEN = "tok+SECRET/4f1c9a=="
CLIENT_ID = "client-7d2e"
CLIENT_SECRET = "cs+SECRET/91b0="
REFRESH_TOKEN = "rt+SECRET/55aa="
FLOW_ID = "24bc4997-b483-4c25-a19c-64b0afc00743"


@pytest.fixture
def echo() -> Iterator[tuple[str, list[bytes]]]:
    with echo_server() as served:
        yield served


@pytest.fixture(params=["own pool", "httpx"])
def http_client(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@asynccontextmanager
async def shared(kind: str) -> AsyncIterator[httpx.AsyncClient | None]:
    """No client (the library's own pool) or a plain ``httpx.AsyncClient``."""
    if kind == "own pool":
        yield None
        return
    async with httpx.AsyncClient() as http:
        yield http


def shown(error: BaseException, caplog: pytest.LogCaptureFixture) -> str:
    """Everything a user could see of ``error``: str, repr, message, body, traceback, and
    the library's logs (httpx's and httpcore's own debug traces list the request sent)."""
    logs = [caplog.handler.format(r) for r in caplog.records if r.name.startswith("globus_runs")]
    parts = [str(error), repr(error), "".join(traceback.format_exception(error)), *logs]
    if isinstance(error, APIError):
        parts += [error.message, error.body, *error.messages, str(error.request_id)]
    return "\n".join(parts)


def variants(secret: str) -> set[str]:
    return {secret, quote_plus(secret)}


async def test_an_echoed_token_is_redacted(
    echo: tuple[str, list[bytes]], http_client: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="globus_runs")
    url, seen = echo
    async with shared(http_client) as http:
        flows = FlowsClient(
            authorizer=TOKEN, base_url=url, http_client=http, retry=RetryPolicy.disabled()
        )
        with pytest.raises(BadRequestError) as caught:
            await flows.get_run("00000000-0000-4000-8000-000000000001")
        await flows.aclose()
    assert f"Authorization: Bearer {TOKEN}".encode() in seen[0]  # it was sent, and echoed
    text = shown(caught.value, caplog)
    assert TOKEN not in text
    assert "Authorization: <redacted>" in caught.value.message
    assert caught.value.request_id == "<redacted>"


async def test_echoed_client_credentials_are_redacted(
    echo: tuple[str, list[bytes]], http_client: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="globus_runs")
    url, seen = echo
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    async with shared(http_client) as http:
        authorizer = ClientCredentialsAuthorizer(
            CLIENT_ID, CLIENT_SECRET, ["scope"], auth_url=url, http_client=http
        )
        with pytest.raises(APIError) as caught:
            await authorizer.get_authorization_header("flows.globus.org")
        await authorizer.aclose()
    assert f"Basic {basic}".encode() in seen[0]
    text = shown(caught.value, caplog)
    for secret in (basic, CLIENT_SECRET, f"{CLIENT_ID}:{CLIENT_SECRET}"):
        assert not [form for form in variants(secret) if form in text]
    assert "Authorization: <redacted>" in caught.value.message


async def test_an_echoed_refresh_token_is_redacted(
    echo: tuple[str, list[bytes]], http_client: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="globus_runs")
    url, seen = echo
    async with shared(http_client) as http:
        authorizer = RefreshTokenAuthorizer(
            CLIENT_ID, REFRESH_TOKEN, auth_url=url, http_client=http
        )
        with pytest.raises(APIError) as caught:
            await authorizer.get_authorization_header("flows.globus.org")
        await authorizer.aclose()
    assert f"refresh_token={quote_plus(REFRESH_TOKEN)}".encode() in seen[0]  # form-encoded
    text = shown(caught.value, caplog)
    assert REFRESH_TOKEN not in text
    assert quote_plus(REFRESH_TOKEN) not in text
    assert "refresh_token=<redacted>" in caught.value.message


async def test_an_echoed_token_in_a_2xx_that_is_not_json_is_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=f"you sent {request.headers['authorization']}")

    flows = FlowsClient(
        authorizer=TOKEN,
        base_url="https://flows.automate.globus.org",
        transport=httpx.MockTransport(echo),
    )
    with pytest.raises(ResponseParseError) as caught:
        await flows.get_run("00000000-0000-4000-8000-000000000001")
    await flows.aclose()
    assert TOKEN not in shown(caught.value, caplog)
    assert "you sent <redacted>" in str(caught.value)


async def test_an_echoed_token_in_a_2xx_of_the_wrong_shape_is_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"run_id": request.headers["authorization"]})

    flows = FlowsClient(
        authorizer=TOKEN,
        base_url="https://flows.automate.globus.org",
        transport=httpx.MockTransport(echo),
    )
    with pytest.raises(ResponseParseError) as caught:
        await flows.get_run("00000000-0000-4000-8000-000000000001")
    await flows.aclose()
    assert TOKEN not in shown(caught.value, caplog)
    assert caught.value.text == '{"run_id":"<redacted>"}'


async def test_a_token_too_short_to_be_a_secret_does_not_garble_the_message() -> None:
    def not_found(request: httpx.Request) -> httpx.Response:
        echoed = request.headers["authorization"]
        return httpx.Response(404, json={"error": {"code": "NOT_FOUND", "detail": echoed}})

    flows = FlowsClient(
        authorizer="t",
        base_url="https://flows.automate.globus.org",
        transport=httpx.MockTransport(not_found),
    )
    with pytest.raises(APIError) as caught:
        await flows.get_run("00000000-0000-4000-8000-000000000001")
    await flows.aclose()
    assert caught.value.message == "<redacted>"  # the header as sent, not every "t"
    assert caught.value.code == "NOT_FOUND"
