"""The emulated Globus Auth token endpoint, spoken to over plain HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from globus_runs.testing import FakeGlobus

from ._support import FLOWS, FLOWS_ALL, RUN_STATUS, TIMERS, TIMERS_SCOPE, flow_scope

pytestmark = pytest.mark.anyio

TOKEN = "v2/oauth2/token"


async def client_credentials(
    http: httpx.AsyncClient, client: tuple[str, str], scope: str
) -> httpx.Response:
    return await http.post(
        TOKEN, data={"grant_type": "client_credentials", "scope": scope}, auth=client
    )


async def refresh(http: httpx.AsyncClient, client_id: str, refresh_token: str) -> httpx.Response:
    """A native client's refresh request: its id in the form, no client authentication."""
    return await http.post(
        TOKEN,
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
        },
    )


async def flows_status(fake: FakeGlobus, method: str, path: str, token: str) -> int:
    """The status the emulated Flows answers to a request carrying ``token``."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app), base_url=fake.flows_url
    ) as http:
        kwargs: dict[str, Any] = {"json": {"body": {}}} if method == "POST" else {}
        response = await http.request(
            method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs
        )
    return response.status_code


async def test_client_credentials_grant_one_token_per_resource_server(
    fake: FakeGlobus, client: tuple[str, str], flow_id: str, auth_http: httpx.AsyncClient
) -> None:
    scope = f"{FLOWS_ALL} {flow_scope(flow_id)} {RUN_STATUS} {TIMERS_SCOPE}"
    response = await client_credentials(auth_http, client, scope)
    assert response.status_code == 200
    answer = response.json()
    tokens = [answer.pop("access_token")]
    for other in answer["other_tokens"]:
        tokens.append(other.pop("access_token"))
    assert answer == {
        "expires_in": 172800,
        "resource_server": FLOWS,
        "scope": f"{FLOWS_ALL} {RUN_STATUS}",
        "token_type": "Bearer",
        "other_tokens": [
            {
                "expires_in": 172800,
                "resource_server": flow_id,
                "scope": flow_scope(flow_id),
                "token_type": "Bearer",
            },
            {
                "expires_in": 172800,
                "resource_server": TIMERS,
                "scope": TIMERS_SCOPE,
                "token_type": "Bearer",
            },
        ],
    }
    assert len(set(tokens)) == 3


async def test_a_token_answer_may_not_be_cached(
    client: tuple[str, str], auth_http: httpx.AsyncClient
) -> None:
    response = await client_credentials(auth_http, client, FLOWS_ALL)
    assert response.headers["cache-control"] == "no-store"


async def test_granted_tokens_are_accepted_only_by_their_resource_server(
    fake: FakeGlobus, client: tuple[str, str], flow_id: str, auth_http: httpx.AsyncClient
) -> None:
    answer = (
        await client_credentials(auth_http, client, f"{FLOWS_ALL} {flow_scope(flow_id)}")
    ).json()
    flows_token, flow_token = answer["access_token"], answer["other_tokens"][0]["access_token"]
    start = f"flows/{flow_id}/run"
    assert await flows_status(fake, "GET", "runs", flows_token) == 200
    assert await flows_status(fake, "POST", start, flows_token) == 403
    assert await flows_status(fake, "POST", start, flow_token) == 201
    assert await flows_status(fake, "GET", "runs", flow_token) == 403


async def test_client_credentials_tokens_belong_to_the_clients_identity(
    fake: FakeGlobus, client: tuple[str, str], auth_http: httpx.AsyncClient
) -> None:
    token = (await client_credentials(auth_http, client, FLOWS_ALL)).json()["access_token"]
    grant = fake.tokens.authenticate(f"Bearer {token}", fake.clock.now())
    assert (grant.identity_id, grant.client_id) == (client[0], client[0])


async def test_a_wrong_client_secret_is_401_invalid_client(
    client: tuple[str, str], auth_http: httpx.AsyncClient
) -> None:
    response = await client_credentials(auth_http, (client[0], "wrong"), FLOWS_ALL)
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed",
    }
    assert response.headers["www-authenticate"] == 'Basic realm="Globus Auth"'


async def test_an_unknown_client_is_401_invalid_client(auth_http: httpx.AsyncClient) -> None:
    response = await client_credentials(auth_http, ("no-such-client", "secret"), FLOWS_ALL)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


async def test_a_request_without_client_authentication_is_401_invalid_client(
    auth_http: httpx.AsyncClient,
) -> None:
    response = await auth_http.post(
        TOKEN, data={"grant_type": "client_credentials", "scope": FLOWS_ALL}
    )
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


async def test_an_unknown_scope_is_400_invalid_scope(
    client: tuple[str, str], auth_http: httpx.AsyncClient
) -> None:
    response = await client_credentials(auth_http, client, f"{FLOWS_ALL} not-a-scope")
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_scope",
        "error_description": "Unknown scope: not-a-scope",
    }


async def test_a_native_client_may_not_use_client_credentials(
    fake: FakeGlobus, auth_http: httpx.AsyncClient
) -> None:
    client_id = fake.add_native_client()
    response = await client_credentials(auth_http, (client_id, ""), FLOWS_ALL)
    assert (response.status_code, response.json()["error"]) == (400, "unauthorized_client")


async def test_an_unsupported_grant_type_is_400(
    client: tuple[str, str], auth_http: httpx.AsyncClient
) -> None:
    response = await auth_http.post(TOKEN, data={"grant_type": "password"}, auth=client)
    assert (response.status_code, response.json()["error"]) == (400, "unsupported_grant_type")


async def test_a_json_body_is_400_invalid_request(
    client: tuple[str, str], auth_http: httpx.AsyncClient
) -> None:
    response = await auth_http.post(
        TOKEN, json={"grant_type": "client_credentials", "scope": FLOWS_ALL}, auth=client
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "Content-Type must be application/x-www-form-urlencoded",
    }


async def test_a_native_client_refreshes_with_its_client_id(
    fake: FakeGlobus, auth_http: httpx.AsyncClient
) -> None:
    client_id = fake.add_native_client()
    refresh_token = fake.issue_refresh_token(client_id, [FLOWS_ALL])
    response = await refresh(auth_http, client_id, refresh_token)
    assert response.status_code == 200
    answer = response.json()
    assert answer["refresh_token"] == refresh_token
    grant = fake.tokens.authenticate(f"Bearer {answer['access_token']}", fake.clock.now())
    assert (grant.identity_id, grant.resource_servers) == (fake.identity_id, frozenset({FLOWS}))


async def test_a_confidential_client_refreshes_with_basic_auth(
    fake: FakeGlobus, client: tuple[str, str], auth_http: httpx.AsyncClient
) -> None:
    refresh_token = fake.issue_refresh_token(client[0], FLOWS_ALL, identity_id="someone")
    response = await auth_http.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": refresh_token}, auth=client
    )
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert fake.tokens.authenticate(f"Bearer {token}", fake.clock.now()).identity_id == "someone"


async def test_a_confidential_client_must_authenticate_to_refresh(
    fake: FakeGlobus, client: tuple[str, str], auth_http: httpx.AsyncClient
) -> None:
    refresh_token = fake.issue_refresh_token(client[0], FLOWS_ALL)
    response = await refresh(auth_http, client[0], refresh_token)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


async def test_a_rotating_refresh_token_is_replaced_by_each_use(
    fake: FakeGlobus, auth_http: httpx.AsyncClient
) -> None:
    client_id = fake.add_native_client()
    first = fake.issue_refresh_token(client_id, [FLOWS_ALL], rotate=True)
    second = (await refresh(auth_http, client_id, first)).json()["refresh_token"]
    assert second != first
    again = await refresh(auth_http, client_id, first)
    assert again.status_code == 400
    assert again.json() == {
        "error": "invalid_grant",
        "error_description": "Invalid or revoked refresh token",
    }
    assert (await refresh(auth_http, client_id, second)).status_code == 200


async def test_a_refresh_token_of_another_client_is_invalid_grant(
    fake: FakeGlobus, auth_http: httpx.AsyncClient
) -> None:
    owner, other = fake.add_native_client(), fake.add_native_client()
    refresh_token = fake.issue_refresh_token(owner, [FLOWS_ALL])
    response = await refresh(auth_http, other, refresh_token)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


async def test_a_revoked_refresh_token_is_invalid_grant(
    fake: FakeGlobus, auth_http: httpx.AsyncClient
) -> None:
    client_id = fake.add_native_client()
    refresh_token = fake.issue_refresh_token(client_id, [FLOWS_ALL])
    fake.revoke_refresh_token(refresh_token)
    response = await refresh(auth_http, client_id, refresh_token)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


async def test_granted_tokens_expire_after_token_lifetime_on_the_fake_clock(
    fake: FakeGlobus, client: tuple[str, str], auth_http: httpx.AsyncClient
) -> None:
    fake.token_lifetime = 3600
    answer = (await client_credentials(auth_http, client, FLOWS_ALL)).json()
    assert answer["expires_in"] == 3600
    fake.clock.advance(3599)
    assert await flows_status(fake, "GET", "runs", answer["access_token"]) == 200
    fake.clock.advance(1)
    assert await flows_status(fake, "GET", "runs", answer["access_token"]) == 401


async def test_revoking_a_clients_tokens_rejects_only_that_clients_tokens(
    fake: FakeGlobus, client: tuple[str, str], auth_http: httpx.AsyncClient
) -> None:
    other = fake.add_client()
    mine = (await client_credentials(auth_http, client, FLOWS_ALL)).json()["access_token"]
    theirs = (await client_credentials(auth_http, other, FLOWS_ALL)).json()["access_token"]
    assert fake.revoke_client_tokens(client[0]) == 1
    assert await flows_status(fake, "GET", "runs", mine) == 401
    assert await flows_status(fake, "GET", "runs", theirs) == 200


async def test_token_requests_lists_what_the_token_endpoint_received(
    fake: FakeGlobus, client: tuple[str, str], auth_http: httpx.AsyncClient
) -> None:
    await client_credentials(auth_http, client, FLOWS_ALL)
    await client_credentials(auth_http, (client[0], "wrong"), FLOWS_ALL)
    await flows_status(fake, "GET", "runs", fake.token)
    assert [(r.method, r.path, r.status_code) for r in fake.token_requests] == [
        ("POST", "/v2/oauth2/token", 200),
        ("POST", "/v2/oauth2/token", 401),
    ]
