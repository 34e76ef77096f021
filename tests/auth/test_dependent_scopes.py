"""Scopes with dependent scopes in brackets, at the emulated token endpoint."""

from __future__ import annotations

import httpx
import pytest

from globus_runs.testing import FakeGlobus

from ._support import FLOWS, FLOWS_ALL, TIMERS, TIMERS_SCOPE, flow_scope

pytestmark = pytest.mark.anyio

TOKEN = "v2/oauth2/token"
FLOW_ID = "0b3fd2b5-6d5e-4a5a-a0c6-bf4ab0a4d2d1"
TRANSFER = "urn:globus:auth:scope:transfer.api.globus.org:all"
# What ``globus timer create flow`` asks for.
TIMER_FOR_FLOW = f"{TIMERS_SCOPE}[{flow_scope(FLOW_ID)}]"


async def test_client_credentials_grant_a_dependent_scope_as_its_outer_scope(
    fake: FakeGlobus, client: tuple[str, str], auth_http: httpx.AsyncClient
) -> None:
    response = await auth_http.post(
        TOKEN,
        data={"grant_type": "client_credentials", "scope": f"{TIMER_FOR_FLOW} {FLOWS_ALL}"},
        auth=client,
    )
    assert response.status_code == 200
    answer = response.json()
    token = answer.pop("access_token")
    other = answer["other_tokens"][0].pop("access_token")
    assert answer == {
        "expires_in": 172800,
        "resource_server": TIMERS,
        "scope": TIMERS_SCOPE,
        "token_type": "Bearer",
        "other_tokens": [
            {
                "expires_in": 172800,
                "resource_server": FLOWS,
                "scope": FLOWS_ALL,
                "token_type": "Bearer",
            }
        ],
    }
    grant = fake.tokens.authenticate(f"Bearer {token}", fake.clock.now())
    assert grant.resource_servers == frozenset({TIMERS})
    flows_grant = fake.tokens.authenticate(f"Bearer {other}", fake.clock.now())
    assert flows_grant.resource_servers == frozenset({FLOWS})


async def test_a_refresh_token_for_a_dependent_scope_grants_its_outer_scope(
    fake: FakeGlobus, auth_http: httpx.AsyncClient
) -> None:
    client_id = fake.add_native_client()
    refresh_token = fake.issue_refresh_token(client_id, TIMER_FOR_FLOW)
    response = await auth_http.post(
        TOKEN,
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
        },
    )
    assert response.status_code == 200
    answer = response.json()
    assert (answer["resource_server"], answer["scope"]) == (TIMERS, TIMERS_SCOPE)
    assert answer["other_tokens"] == []


async def test_an_unknown_outer_scope_with_dependents_is_refused(
    client: tuple[str, str], auth_http: httpx.AsyncClient
) -> None:
    response = await auth_http.post(
        TOKEN,
        data={"grant_type": "client_credentials", "scope": f"all[{flow_scope(FLOW_ID)}]"},
        auth=client,
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_scope", "error_description": "Unknown scope: all"}
