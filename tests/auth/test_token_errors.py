"""What the renewing authorizers raise when the token endpoint says no."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from globus_runs import (
    AuthenticationError,
    BadRequestError,
    ClientCredentialsAuthorizer,
    ConfigurationError,
    NotFoundError,
    RefreshTokenAuthorizer,
)
from globus_runs.testing import FakeGlobus

from ._support import FLOWS, FLOWS_ALL, statuses

pytestmark = pytest.mark.anyio


async def test_a_wrong_client_secret_raises_authentication_error_before_any_flows_request(
    fake: FakeGlobus, client: tuple[str, str], flow_id: str, auth_http: httpx.AsyncClient
) -> None:
    [run_id] = fake.add_runs(flow_id, 1, owner=client[0])
    authorizer = ClientCredentialsAuthorizer(
        client[0], "wrong", [FLOWS_ALL], auth_url=fake.auth_url, http_client=auth_http
    )
    async with fake.flows_client(authorizer=authorizer) as flows:
        with pytest.raises(AuthenticationError) as caught:
            await flows.get_run(run_id)
    error = caught.value
    assert (error.http_status, error.code, error.message) == (
        401,
        "invalid_client",
        "Client authentication failed",
    )
    assert error.url == f"{fake.auth_url}v2/oauth2/token"
    assert statuses(fake, "auth") == [401]
    assert statuses(fake) == []


async def test_a_revoked_refresh_token_raises_bad_request_invalid_grant(
    fake: FakeGlobus, refresh_token_authorizer: Callable[..., RefreshTokenAuthorizer]
) -> None:
    client_id = fake.add_native_client()
    refresh_token = fake.issue_refresh_token(client_id, [FLOWS_ALL])
    fake.revoke_refresh_token(refresh_token)
    with pytest.raises(BadRequestError) as caught:
        await refresh_token_authorizer(client_id, refresh_token).get_authorization_header(FLOWS)
    error = caught.value
    assert (error.http_status, error.code, error.message) == (
        400,
        "invalid_grant",
        "Invalid or revoked refresh token",
    )
    assert len(fake.token_requests) == 1


async def test_an_error_answer_not_in_the_oauth_shape_keeps_the_usual_mapping() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="<html><body>Not Found</body></html>")

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        authorizer = ClientCredentialsAuthorizer(
            "client", "secret", [FLOWS_ALL], auth_url="https://auth.example.org", http_client=http
        )
        with pytest.raises(NotFoundError) as caught:
            await authorizer.get_authorization_header(FLOWS)
    assert (caught.value.code, caught.value.message) == ("NOT_FOUND", "Not Found")


async def test_a_resource_server_no_scope_was_granted_for_is_a_configuration_error(
    fake: FakeGlobus,
    flow_id: str,
    client_credentials: Callable[..., ClientCredentialsAuthorizer],
) -> None:
    async with fake.flows_client(authorizer=client_credentials([FLOWS_ALL])) as flows:
        with pytest.raises(ConfigurationError, match=f"no token for resource server '{flow_id}'"):
            await flows.run_flow(flow_id, {})
    assert statuses(fake) == []
