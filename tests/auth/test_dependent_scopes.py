"""Scopes with dependent scopes in brackets, at the emulated token endpoint."""

from __future__ import annotations

import httpx
import pytest

from globus_runs.testing import FakeGlobus
from globus_runs.testing._oauth import OAuthError, parse_scopes, resource_server_of

from ._support import FLOWS, FLOWS_ALL, TIMERS, TIMERS_SCOPE, flow_scope

pytestmark = pytest.mark.anyio

TOKEN = "v2/oauth2/token"
FLOW_ID = "0b3fd2b5-6d5e-4a5a-a0c6-bf4ab0a4d2d1"
TRANSFER = "urn:globus:auth:scope:transfer.api.globus.org:all"
# What ``globus timer create flow`` asks for.
TIMER_FOR_FLOW = f"{TIMERS_SCOPE}[{flow_scope(FLOW_ID)}]"


@pytest.mark.parametrize(
    ("scope", "resource_server"),
    [
        (TIMER_FOR_FLOW, TIMERS),
        (f"{TIMERS_SCOPE}[{flow_scope(FLOW_ID)}[{TRANSFER} openid]]", TIMERS),
        (f"{FLOWS_ALL}[{TRANSFER}]", FLOWS),
    ],
)
def test_a_scope_with_dependent_scopes_belongs_to_its_outer_scope(
    scope: str, resource_server: str
) -> None:
    assert resource_server_of(scope) == resource_server


@pytest.mark.parametrize(
    ("scope", "description"),
    [
        (f"{TIMERS_SCOPE}[]", f"Malformed scope string: {TIMERS_SCOPE}[]"),
        (f"{TIMERS_SCOPE}[openid", f"Malformed scope string: {TIMERS_SCOPE}[openid"),
        (f"{TIMERS_SCOPE}[openid]x", f"Malformed scope string: {TIMERS_SCOPE}[openid]x"),
        ("[openid]", "Malformed scope string: [openid]"),
        (f"{TIMERS_SCOPE}[bogus]", "Unknown scope: bogus"),
        ("bogus[openid]", "Unknown scope: bogus"),
    ],
)
def test_a_malformed_or_unknown_dependent_scope_is_invalid_scope(
    scope: str, description: str
) -> None:
    with pytest.raises(OAuthError) as caught:
        resource_server_of(scope)
    assert caught.value.body == {"error": "invalid_scope", "error_description": description}


def test_spaces_inside_brackets_do_not_split_the_scope_string() -> None:
    text = f"{TIMERS_SCOPE}[{flow_scope(FLOW_ID)} openid] {FLOWS_ALL}"
    assert parse_scopes(text) == (f"{TIMERS_SCOPE}[{flow_scope(FLOW_ID)} openid]", FLOWS_ALL)


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
