"""A token that cannot be sent in a header (a trailing newline, say) is refused before any
request, as an InvalidRequestError naming the authorizer and never quoting the token, on
every way out: the library's own pool, httpx, the emulator, and tokens from the token endpoint.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from globus_runs import (
    AccessTokenAuthorizer,
    CallbackAuthorizer,
    ClientCredentialsAuthorizer,
    FlowsClient,
    InvalidRequestError,
    RefreshTokenAuthorizer,
    TokenMapAuthorizer,
)
from globus_runs.testing import FakeGlobus

from ._echo import echo_server

pytestmark = pytest.mark.anyio

BAD_TOKENS = ["tok-SECRET\n", "tok-SECRET\r\nX-Evil: 1", "tok\x00SECRET", "tok-SECRÉT"]


@pytest.fixture
def echo() -> Iterator[tuple[str, list[bytes]]]:
    with echo_server() as served:
        yield served


def assert_refused(error: InvalidRequestError, authorizer: str) -> None:
    text = str(error) + "".join(traceback.format_exception(error))
    assert f"the Authorization header from {authorizer} cannot be sent" in str(error)
    assert "SECR" not in text


@pytest.mark.parametrize("token", BAD_TOKENS)
@pytest.mark.parametrize("path", ["own pool", "httpx"])
async def test_an_unsendable_token_is_refused_before_sending(
    echo: tuple[str, list[bytes]], token: str, path: str
) -> None:
    url, seen = echo
    async with httpx.AsyncClient() as http:
        flows = FlowsClient(
            authorizer=token, base_url=url, http_client=http if path == "httpx" else None
        )
        with pytest.raises(InvalidRequestError) as caught:
            await flows.get_run("00000000-0000-4000-8000-000000000001")
        await flows.aclose()
    assert_refused(caught.value, "AccessTokenAuthorizer")
    assert seen == []


@pytest.mark.parametrize(
    "authorizer",
    [
        TokenMapAuthorizer({"flows.globus.org": "tok-SECRET\n"}),
        CallbackAuthorizer(lambda server: "tok-SECRET\n"),
    ],
    ids=["token map", "callback"],
)
async def test_every_authorizer_kind_is_checked(fake: FakeGlobus, authorizer: Any) -> None:
    async with fake.flows_client(authorizer=authorizer) as flows:
        with pytest.raises(InvalidRequestError) as caught:
            await flows.get_run("00000000-0000-4000-8000-000000000001")
    assert_refused(caught.value, type(authorizer).__name__)
    assert fake.requests == []


async def test_a_granted_token_that_cannot_be_sent_is_refused(fake: FakeGlobus) -> None:
    def token_endpoint(request: httpx.Request) -> httpx.Response:
        grant = {"access_token": "tok-SECRET\n", "resource_server": "flows.globus.org"}
        return httpx.Response(200, json={**grant, "expires_in": 3600})

    async with httpx.AsyncClient(transport=httpx.MockTransport(token_endpoint)) as auth:
        authorizer = ClientCredentialsAuthorizer("id", "secret", ["scope"], http_client=auth)
        async with fake.flows_client(authorizer=authorizer) as flows:
            with pytest.raises(InvalidRequestError) as caught:
                await flows.get_run("00000000-0000-4000-8000-000000000001")
    assert_refused(caught.value, "ClientCredentialsAuthorizer")
    assert fake.requests == []


@pytest.mark.parametrize(
    "build",
    [
        lambda: RefreshTokenAuthorizer("client", "rt-SECRET\n"),
        lambda: ClientCredentialsAuthorizer("client", "cs-SECRET\n", ["scope"]),
    ],
    ids=["refresh token", "client secret"],
)
async def test_an_unsendable_credential_is_refused_before_the_token_endpoint(
    build: Any,
) -> None:
    authorizer = build()
    async with authorizer:
        with pytest.raises(InvalidRequestError) as caught:
            await authorizer.get_authorization_header("flows.globus.org")
        assert authorizer._http is None  # nothing opened, nothing sent
    assert str(caught.value).startswith(f"{type(authorizer).__name__}: the ")
    assert "SECRET" not in str(caught.value)


def test_a_valid_token_is_accepted() -> None:
    assert repr(AccessTokenAuthorizer("tok-1")) == "AccessTokenAuthorizer(token=<redacted>)"


async def test_a_header_that_is_not_a_str_is_refused(fake: FakeGlobus) -> None:
    class BytesAuthorizer:
        async def get_authorization_header(self, resource_server: str) -> Any:
            return b"Bearer tok-SECRET"

        async def handle_unauthorized(self, resource_server: str, rejected: str | None) -> bool:
            return False

    async with fake.flows_client(authorizer=BytesAuthorizer()) as flows:
        with pytest.raises(InvalidRequestError) as caught:
            await flows.get_run("00000000-0000-4000-8000-000000000001")
    assert_refused(caught.value, "BytesAuthorizer")
    assert fake.requests == []
