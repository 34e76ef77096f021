"""No token, refresh token or client secret shows in logs, reprs or error messages."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from globus_runs import (
    AccessTokenAuthorizer,
    AuthenticationError,
    BadRequestError,
    CallbackAuthorizer,
    ClientCredentialsAuthorizer,
    RefreshTokenAuthorizer,
    ResponseParseError,
    TokenMapAuthorizer,
    TokenResponse,
)
from globus_runs.testing import FakeGlobus

from ._support import FLOWS, FLOWS_ALL, flow_scope

pytestmark = pytest.mark.anyio

LOGGERS = ("globus_runs", "httpx", "httpcore")


def secrets_seen(fake: FakeGlobus) -> set[str]:
    """Every credential that went over the wire, and the fake's registered secrets."""
    found: set[str] = {fake.token}
    for request in fake.requests:
        header = request.headers.get("authorization", "")
        if header:
            found.add(header.partition(" ")[2])
    found.update(fake.auth_service.refresh_tokens)
    found.update(c.secret for c in fake.auth_service.clients.values() if c.secret)
    return found


def assert_free_of(text: str, secrets: set[str]) -> None:
    leaked = [secret for secret in secrets if secret in text]
    assert not leaked, f"secret shown in {text!r}"


async def test_no_secret_is_logged(
    fake: FakeGlobus,
    client: tuple[str, str],
    flow_id: str,
    client_credentials: Callable[..., ClientCredentialsAuthorizer],
    refresh_token_authorizer: Callable[..., RefreshTokenAuthorizer],
    auth_http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    native = fake.add_native_client()
    refresh_token = fake.issue_refresh_token(native, [FLOWS_ALL], rotate=True)
    [run_id] = fake.add_runs(flow_id, 1, owner=client[0])
    [user_run_id] = fake.add_runs(flow_id, 1)
    credentials = client_credentials([FLOWS_ALL, flow_scope(flow_id)])
    async with fake.flows_client(authorizer=credentials) as flows:
        await flows.run_flow(flow_id, {})
        fake.revoke_client_tokens(client[0])
        await flows.get_run(run_id)  # rejected, renewed, retried
    refreshing = refresh_token_authorizer(native, refresh_token)
    async with fake.flows_client(authorizer=refreshing) as flows:
        await flows.get_run(user_run_id)
    async with fake.flows_client(authorizer="not-a-valid-token") as flows:
        with pytest.raises(AuthenticationError):
            await flows.get_run(run_id)
    wrong_secret = ClientCredentialsAuthorizer(
        client[0], "wrong-secret-value", [FLOWS_ALL], auth_url=fake.auth_url, http_client=auth_http
    )
    with pytest.raises(AuthenticationError):
        await wrong_secret.get_authorization_header(FLOWS)

    assert "token rejected, retrying once" in caplog.text
    assert any(record.name == "httpx" for record in caplog.records)
    secrets = secrets_seen(fake) | {refresh_token, "not-a-valid-token", "wrong-secret-value"}
    for record in caplog.records:
        assert_free_of(record.getMessage(), secrets)


async def test_authorizers_show_no_secret(
    fake: FakeGlobus,
    client: tuple[str, str],
    flow_id: str,
    client_credentials: Callable[..., ClientCredentialsAuthorizer],
    refresh_token_authorizer: Callable[..., RefreshTokenAuthorizer],
) -> None:
    native = fake.add_native_client()
    refresh_token = fake.issue_refresh_token(native, [FLOWS_ALL])
    responses: list[TokenResponse] = []
    credentials = client_credentials([FLOWS_ALL])
    refreshing = refresh_token_authorizer(native, refresh_token, on_refresh=responses.append)
    await credentials.get_authorization_header(FLOWS)
    await refreshing.get_authorization_header(FLOWS)
    authorizers: list[object] = [
        credentials,
        refreshing,
        responses[0],
        AccessTokenAuthorizer(fake.token),
        TokenMapAuthorizer({FLOWS: fake.token}),
        CallbackAuthorizer(lambda rs: fake.token),
    ]
    secrets = secrets_seen(fake)
    for authorizer in authorizers:
        assert_free_of(str(authorizer), secrets)
        assert_free_of(repr(authorizer), secrets)


async def test_clients_show_no_secret(fake: FakeGlobus) -> None:
    async with fake.flows_client() as flows, fake.timers_client() as timers:
        for client in (flows, timers):
            assert_free_of(str(client), {fake.token})
            assert_free_of(repr(client), {fake.token})


async def test_an_authentication_error_shows_no_token(fake: FakeGlobus, flow_id: str) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    async with fake.flows_client(authorizer="bad-token-value") as flows:
        with pytest.raises(AuthenticationError) as caught:
            await flows.get_run(run_id)
    for text in (str(caught.value), repr(caught.value), *map(str, caught.value.args)):
        assert_free_of(text, {"bad-token-value"})


async def test_a_token_endpoint_error_shows_no_secret(
    fake: FakeGlobus,
    refresh_token_authorizer: Callable[..., RefreshTokenAuthorizer],
) -> None:
    native = fake.add_native_client()
    authorizer = refresh_token_authorizer(native, "refresh-token-value")
    with pytest.raises(BadRequestError) as caught:
        await authorizer.get_authorization_header(FLOWS)
    for text in (str(caught.value), repr(caught.value), caught.value.body):
        assert_free_of(text, {"refresh-token-value"})


async def test_a_token_answer_that_is_not_json_shows_no_token() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text='{"access_token": "leaked-token-value", "expires_in')

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        authorizer = ClientCredentialsAuthorizer(
            "client", "secret", [FLOWS_ALL], auth_url="https://auth.example.org", http_client=http
        )
        with pytest.raises(ResponseParseError) as caught:
            await authorizer.get_authorization_header(FLOWS)
    for text in (str(caught.value), repr(caught.value), caught.value.text):
        assert_free_of(text, {"leaked-token-value"})
