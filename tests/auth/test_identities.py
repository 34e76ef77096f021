"""The emulated Auth API's identity and consent look-ups, which official clients call."""

from __future__ import annotations

import httpx
import pytest

from globus_runs.testing import FakeGlobus

from ._support import FLOWS

pytestmark = pytest.mark.anyio

IDENTITIES = "v2/api/identities"
SOMEONE = "46bd0f56-e24f-11e5-a510-131bef46955c"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_identities_by_id_name_clients_and_others(
    fake: FakeGlobus, client: tuple[str, str], auth_http: httpx.AsyncClient
) -> None:
    client_id = client[0]
    response = await auth_http.get(
        IDENTITIES, params={"ids": f"{client_id},{SOMEONE}"}, headers=bearer(fake.token)
    )
    assert response.status_code == 200
    assert response.json() == {
        "identities": [
            {
                "id": client_id,
                "username": f"{client_id}@clients.auth.globus.org",
                "name": None,
                "email": None,
                "organization": None,
                "identity_provider": "5f5e2c6b-8d4e-4a8e-9f36-6b3c2a9d7e10",
                "identity_type": "client",
                "status": "used",
            },
            {
                "id": SOMEONE,
                "username": f"{SOMEONE}@emulator.example.org",
                "name": None,
                "email": None,
                "organization": None,
                "identity_provider": "5f5e2c6b-8d4e-4a8e-9f36-6b3c2a9d7e10",
                "identity_type": "login",
                "status": "used",
            },
        ]
    }


async def test_identities_by_username_find_only_the_emulators_names(
    fake: FakeGlobus, auth_http: httpx.AsyncClient
) -> None:
    usernames = f"{SOMEONE}@emulator.example.org,someone@example.com"
    response = await auth_http.get(
        IDENTITIES, params={"usernames": usernames}, headers=bearer(fake.token)
    )
    assert [identity["id"] for identity in response.json()["identities"]] == [SOMEONE]


async def test_an_invalid_identity_id_is_a_400_in_the_auth_api_shape(
    fake: FakeGlobus, auth_http: httpx.AsyncClient
) -> None:
    response = await auth_http.get(IDENTITIES, params={"ids": "nope"}, headers=bearer(fake.token))
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["status"], error["code"], error["detail"]) == (
        "400",
        "INVALID_PARAMETERS",
        "Invalid identity id: nope",
    )


async def test_ids_and_usernames_together_are_a_400(
    fake: FakeGlobus, auth_http: httpx.AsyncClient
) -> None:
    response = await auth_http.get(
        IDENTITIES,
        params={"ids": SOMEONE, "usernames": f"{SOMEONE}@emulator.example.org"},
        headers=bearer(fake.token),
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["detail"] == "ids and usernames are mutually exclusive"


async def test_identities_need_a_token(auth_http: httpx.AsyncClient) -> None:
    response = await auth_http.get(IDENTITIES, params={"ids": SOMEONE})
    assert response.status_code == 401
    body = response.json()
    assert (body["error"], body["errors"][0]["code"]) == ("unauthorized", "UNAUTHORIZED")


async def test_identities_need_a_token_for_globus_auth(
    fake: FakeGlobus, auth_http: httpx.AsyncClient
) -> None:
    token = fake.issue_token(resource_servers={FLOWS})
    response = await auth_http.get(IDENTITIES, params={"ids": SOMEONE}, headers=bearer(token))
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "FORBIDDEN"


async def test_an_identity_has_no_consents_recorded(
    fake: FakeGlobus, auth_http: httpx.AsyncClient
) -> None:
    response = await auth_http.get(
        f"{IDENTITIES}/{fake.identity_id}/consents",
        params={"all": "False"},
        headers=bearer(fake.token),
    )
    assert (response.status_code, response.json()) == (200, {"consents": []})


async def test_the_consents_of_another_identity_are_forbidden(
    fake: FakeGlobus, auth_http: httpx.AsyncClient
) -> None:
    response = await auth_http.get(f"{IDENTITIES}/{SOMEONE}/consents", headers=bearer(fake.token))
    assert response.status_code == 403
    assert response.json()["errors"][0]["detail"] == "You may only view your own consents"


async def test_a_consents_all_flag_that_is_not_a_boolean_is_a_400(
    fake: FakeGlobus, auth_http: httpx.AsyncClient
) -> None:
    response = await auth_http.get(
        f"{IDENTITIES}/{fake.identity_id}/consents",
        params={"all": "maybe"},
        headers=bearer(fake.token),
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["detail"] == (
        "all: value could not be parsed to a boolean (use true or false)"
    )
