"""``GET /flows/{flow_id}`` and ``GET /flows``: flow documents and their listing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from globus_runs.testing import FakeGlobus

from ._support import START, ClientFactory, error_of

pytestmark = pytest.mark.anyio

VIEW_FLOWS = "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/view_flows"
OTHER = "5f0e0e3c-7c0a-4f4e-9b7b-2b3d1b6c8a11"


def urn(identity_id: str) -> str:
    return f"urn:globus:auth:identity:{identity_id}"


def flow_scope(flow_id: str) -> str:
    return f"https://auth.globus.org/scopes/{flow_id}/flow_{flow_id.replace('-', '_')}_user"


async def listing(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/flows", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_a_flow_document_has_the_production_fields(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    manager = urn(OTHER)
    flow_id = fake.add_flow(
        title="Scan",
        description="Scans things",
        input_schema={"type": "object", "required": ["path"]},
        run_managers=[manager],
    )
    response = await client.get(f"/flows/{flow_id}")
    assert response.status_code == 200
    owner = urn(fake.identity_id)
    flow_url = f"https://flows.globus.org/flows/{flow_id}"
    assert response.json() == {
        "id": flow_id,
        "title": "Scan",
        "subtitle": "",
        "description": "Scans things",
        "keywords": [],
        "definition": fake.flows_service.flows[flow_id].definition,
        "input_schema": {"type": "object", "required": ["path"]},
        "globus_auth_scope": flow_scope(flow_id),
        "synchronous": False,
        "log_supported": True,
        "types": ["Action"],
        "api_version": "1.0",
        "principal_urn": urn(flow_id),
        "globus_auth_username": f"{flow_id}@clients.auth.globus.org",
        "created_at": START.isoformat(timespec="microseconds"),
        "updated_at": START.isoformat(timespec="microseconds"),
        "user_role": "flow_owner",
        "created_by": owner,
        "flow_owner": owner,
        "flow_viewers": ["public"],
        "flow_starters": ["all_authenticated_users"],
        "flow_administrators": [],
        "visible_to": ["public"],
        "runnable_by": ["all_authenticated_users"],
        "administered_by": [],
        "run_managers": [manager],
        "run_monitors": [],
        "action_url": flow_url,
        "flow_url": flow_url,
    }


async def test_a_flow_seen_by_another_identity_has_the_starter_role(
    fake: FakeGlobus, connect: ClientFactory, flow_id: str
) -> None:
    token = fake.issue_token(identity_id=OTHER, resource_servers={"flows.globus.org"})
    async with connect(token) as other:
        response = await other.get(f"/flows/{flow_id}")
    assert response.json()["user_role"] == "flow_starter"


async def test_an_unknown_flow_is_404_in_the_flows_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/flows/{OTHER}")
    assert error_of(response) == (404, "NOT_FOUND")
    assert response.json()["error"]["detail"] == f"Flow {OTHER} not found"


async def test_looking_a_flow_up_needs_a_flows_token(
    fake: FakeGlobus, connect: ClientFactory, flow_id: str
) -> None:
    token = fake.issue_token(resource_servers={flow_id})
    async with connect(token) as client:
        response = await client.get(f"/flows/{flow_id}")
    assert error_of(response) == (403, "MISSING_SCOPE")
    assert response.json()["error"]["detail"] == (
        f"This action requires the following scope: {VIEW_FLOWS}"
    )


async def test_flows_are_listed_in_registration_order_by_marker_pages(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    ids = [fake.add_flow(title=f"Flow {i}") for i in range(5)]
    page = await listing(client, per_page=2)
    seen = [flow["id"] for flow in page["flows"]]
    assert (page["limit"], page["has_next_page"]) == (2, True)
    while page["has_next_page"]:
        page = await listing(client, marker=page["marker"])
        seen += [flow["id"] for flow in page["flows"]]
    assert seen == ids
    assert page["marker"] is None


async def test_a_single_page_lists_twenty_flows_by_default(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    page = await listing(client)
    assert page == {
        "flows": [(await client.get(f"/flows/{flow_id}")).json()],
        "limit": 20,
        "has_next_page": False,
        "marker": None,
    }


async def test_filter_roles_keeps_the_flows_the_caller_holds_a_role_on(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    mine = fake.add_flow(title="Mine")
    fake.add_flow(title="Theirs", owner=OTHER)
    page = await listing(client, filter_roles="flow_owner")
    assert [flow["id"] for flow in page["flows"]] == [mine]


async def test_filter_fulltext_keeps_the_flows_whose_text_has_every_word(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    scan = fake.add_flow(title="Nightly scan", description="Scans the beamline")
    fake.add_flow(title="Nightly copy")
    page = await listing(client, filter_fulltext="nightly BEAMLINE")
    assert [flow["id"] for flow in page["flows"]] == [scan]


async def test_empty_filters_do_not_filter_flows(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    page = await listing(client, filter_roles="", orderby="")
    assert [flow["id"] for flow in page["flows"]] == [flow_id]


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"filter_roles": "admin"}, id="unknown role"),
        pytest.param({"orderby": "title"}, id="order without direction"),
        pytest.param({"orderby": "label ASC"}, id="unknown order field"),
        pytest.param({"per_page": "51"}, id="per_page 51"),
        pytest.param({"per_page": ""}, id="per_page empty"),
    ],
)
async def test_invalid_flow_listing_parameters_are_422(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await client.get("/flows", params=params)
    assert error_of(response) == (422, "UNPROCESSABLE_ENTITY")


async def test_a_forged_flows_marker_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/flows", params={"marker": "bm90IGEgbWFya2Vy"})
    assert error_of(response) == (400, "BAD_REQUEST")
