"""The emulated web inputs and consent, over raw HTTP: shapes, errors, roles and timing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from globus_runs.testing import FakeGlobus
from tests.auth._support import flow_scope

from ._support import ClientFactory, error_of, start_run

pytestmark = pytest.mark.anyio

APPROVE = "0f8b2c6d-4e19-4a73-8d52-b6e1c9a03f74"
REJECT = "9c3e7a15-b0d4-4f62-a8e9-5d1b7c4f2e06"
QUESTION = {
    "title": "Archive?",
    "text": "Ready.",
    "after": 2.0,
    "options": [
        {"option_id": APPROVE, "label": "Approve"},
        {"option_id": REJECT, "label": "Reject", "outcome": "ENDED"},
    ],
}
SUMMARY_KEYS = {
    "id",
    "status",
    "user_roles",
    "input_type",
    "title",
    "flow",
    "run",
    "created_timestamp",
    "edited_timestamp",
    "closed_timestamp",
}


@pytest.fixture
def approval_flow(fake: FakeGlobus) -> str:
    """A flow that asks a question 2 s into each 10 s run."""
    return fake.add_flow(title="Archive", duration=10.0, web_input=QUESTION)


async def _asked(fake: FakeGlobus, client: httpx.AsyncClient, flow_id: str) -> tuple[str, str]:
    run = await start_run(client, flow_id, label="one")
    fake.clock.advance(2)
    web_input_id = fake.web_input_of(run["run_id"])
    assert web_input_id is not None
    return run["run_id"], web_input_id


async def test_the_question_does_not_exist_before_the_run_reaches_it(
    fake: FakeGlobus, client: httpx.AsyncClient, approval_flow: str
) -> None:
    run = await start_run(client, approval_flow)
    assert run["blocking_web_input_id"] is None
    web_input_id = fake.web_input_of(run["run_id"])
    response = await client.get(f"/web_inputs/{web_input_id}")
    assert error_of(response) == (404, "NOT_FOUND")
    assert (await client.get("/web_inputs")).json() == {
        "web_input_summaries": [],
        "has_next_page": False,
        "marker": None,
    }


async def test_a_web_input_document_has_the_production_fields(
    fake: FakeGlobus, client: httpx.AsyncClient, approval_flow: str
) -> None:
    run_id, web_input_id = await _asked(fake, client, approval_flow)
    document = (await client.get(f"/web_inputs/{web_input_id}")).json()
    assert set(document) == (SUMMARY_KEYS - {"title"}) | {
        "input_schema",
        "context",
        "options",
        "roles",
        "creator_urn",
    }
    assert document["context"] == {
        "title": "Archive?",
        "presentation_style": "text",
        "text": "Ready.",
    }
    assert document["options"] == [
        {"option_id": APPROVE, "label": "Approve", "description": ""},
        {"option_id": REJECT, "label": "Reject", "description": ""},
    ]
    assert [item["const"] for item in document["input_schema"]["oneOf"]] == [APPROVE, REJECT]
    assert document["run"] == {"id": run_id, "label": "one"}
    assert document["flow"] == {"id": approval_flow, "title": "Archive"}
    assert document["created_timestamp"] == "2026-03-01T12:00:02.000000+00:00"
    assert document["closed_timestamp"] is None


async def test_a_summary_has_the_production_fields(
    fake: FakeGlobus, client: httpx.AsyncClient, approval_flow: str
) -> None:
    await _asked(fake, client, approval_flow)
    [summary] = (await client.get("/web_inputs")).json()["web_input_summaries"]
    assert set(summary) == SUMMARY_KEYS
    assert summary["title"] == "Archive?"


async def test_an_answer_closes_the_input_and_unblocks_the_run(
    fake: FakeGlobus, client: httpx.AsyncClient, approval_flow: str
) -> None:
    run_id, web_input_id = await _asked(fake, client, approval_flow)
    assert (await client.get(f"/runs/{run_id}")).json()["blocking_web_input_id"] == web_input_id
    fake.clock.advance(60)
    answered = await client.post(
        f"/web_inputs/{web_input_id}/respond", json={"response": {"value": REJECT}}
    )
    assert (answered.status_code, answered.json()) == (200, {"status": "ok"})
    document = (await client.get(f"/web_inputs/{web_input_id}")).json()
    assert document["status"] == "closed"
    assert document["closed_timestamp"] == "2026-03-01T12:01:02.000000+00:00"
    run = (await client.get(f"/runs/{run_id}")).json()
    assert (run["status"], run["blocking_web_input_id"]) == ("ACTIVE", None)
    fake.clock.advance(8)
    assert (await client.get(f"/runs/{run_id}")).json()["status"] == "ENDED"


async def test_a_canceled_run_closes_its_input(
    fake: FakeGlobus, client: httpx.AsyncClient, approval_flow: str
) -> None:
    run_id, web_input_id = await _asked(fake, client, approval_flow)
    await client.post(f"/runs/{run_id}/cancel")
    document = (await client.get(f"/web_inputs/{web_input_id}")).json()
    assert document["status"] == "closed"
    response = await client.post(
        f"/web_inputs/{web_input_id}/respond", json={"response": {"value": APPROVE}}
    )
    assert error_of(response) == (409, "STATE_CONFLICT")


@pytest.mark.parametrize(
    "body", [None, {}, {"response": {}}, {"response": APPROVE}, {"value": APPROVE}]
)
async def test_a_response_without_a_value_is_unprocessable(
    fake: FakeGlobus, client: httpx.AsyncClient, approval_flow: str, body: Any
) -> None:
    _, web_input_id = await _asked(fake, client, approval_flow)
    response = await client.post(f"/web_inputs/{web_input_id}/respond", json=body)
    assert error_of(response) == (422, "UNPROCESSABLE_ENTITY")


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ({"filter_roles": "owner"}, "filter_roles"),
        ({"filter_states": "pending"}, "filter_states"),
        ({"filter_run_ids": "not-a-uuid"}, "filter_run_ids"),
        ({"filter_flow_ids": ",".join([APPROVE] * 11)}, "filter_flow_ids"),
        ({"orderby": "start_time DESC"}, "orderby"),
        ({"per_page": "0"}, "per_page"),
    ],
)
async def test_bad_listing_parameters_are_unprocessable(
    client: httpx.AsyncClient, query: dict[str, str], name: str
) -> None:
    response = await client.get("/web_inputs", params=query)
    assert error_of(response) == (422, "UNPROCESSABLE_ENTITY")
    assert response.json()["error"]["detail"][0]["loc"] == ["query", name]


async def test_empty_multi_valued_filters_do_not_filter(
    fake: FakeGlobus, client: httpx.AsyncClient, approval_flow: str
) -> None:
    _, web_input_id = await _asked(fake, client, approval_flow)
    query = {"filter_states": "", "filter_roles": "", "filter_flow_ids": "", "filter_run_ids": ""}
    response = await client.get("/web_inputs", params=query)
    assert response.status_code == 200
    assert [s["id"] for s in response.json()["web_input_summaries"]] == [web_input_id]


async def test_a_forged_marker_is_a_bad_request(client: httpx.AsyncClient) -> None:
    response = await client.get("/web_inputs", params={"marker": "bm90LWEtbWFya2Vy"})
    assert error_of(response) == (400, "BAD_REQUEST")


async def test_listing_is_ordered_as_asked(
    fake: FakeGlobus, client: httpx.AsyncClient, approval_flow: str
) -> None:
    first, _ = await _asked(fake, client, approval_flow)
    second, _ = await _asked(fake, client, approval_flow)
    newest_first = await client.get("/web_inputs", params={"orderby": "created_timestamp DESC"})
    assert [s["run"]["id"] for s in newest_first.json()["web_input_summaries"]] == [second, first]


async def test_web_inputs_need_a_flows_token(
    fake: FakeGlobus, connect: ClientFactory, approval_flow: str
) -> None:
    token = fake.issue_token(resource_servers={approval_flow})
    async with connect(token) as client:
        assert error_of(await client.get("/web_inputs")) == (403, "MISSING_SCOPE")
    async with connect(None) as client:
        assert error_of(await client.get("/web_inputs")) == (401, "AUTHENTICATION_ERROR")


async def test_an_unmet_policy_answers_a_requirements_error_with_the_summary(
    fake: FakeGlobus, client: httpx.AsyncClient
) -> None:
    policy = "2e7d9b14-c6a3-4f08-b9e5-7a1c3d6f8b02"
    flow_id = fake.add_flow(web_input={**QUESTION, "required_policies": [policy]})
    _, web_input_id = await _asked(fake, client, flow_id)
    response = await client.get(f"/web_inputs/{web_input_id}")
    body = response.json()
    assert error_of(response) == (403, "AUTHENTICATION_POLICY_REQUIRED")
    assert body["code"] == "AuthenticationPolicyRequired"
    assert body["authorization_parameters"]["session_required_policies"] == [policy]
    assert set(body["web_input_summary"]) == SUMMARY_KEYS
    fake.satisfy_policies(policy)
    assert (await client.get(f"/web_inputs/{web_input_id}")).status_code == 200


async def test_a_consent_flow_run_carries_a_production_shaped_requirement(
    fake: FakeGlobus, client: httpx.AsyncClient
) -> None:
    flow_id = fake.add_flow(consent_required=True)
    run = await start_run(client, flow_id)
    details = (await client.get(f"/runs/{run['run_id']}")).json()["details"]
    assert details["code"] == "ConsentRequired"
    assert details["authorization_parameters"]["required_scopes"] == [flow_scope(flow_id)]
    assert details["required_scope"] == flow_scope(flow_id)


async def test_consent_of_another_identity_does_not_unblock_a_run(
    fake: FakeGlobus, client: httpx.AsyncClient
) -> None:
    flow_id = fake.add_flow(consent_required=True)
    run = await start_run(client, flow_id)
    fake.grant_consent(flow_id, identity_id="c7a2e9f1-3b84-4d06-9e5a-0f1d8b6c2e47")
    resumed = await client.post(f"/runs/{run['run_id']}/resume")
    assert resumed.json()["status"] == "INACTIVE"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"web_input": {"after": 10.0}}, "after"),
        ({"web_input": {"options": []}}, "at least one option"),
        ({"web_input": {"options": [{"label": "A", "outcome": "LATER"}]}}, "outcome"),
        ({"web_input": {}, "inactive_after": 1.0}, "not both"),
        ({"web_input": {"viewers": "alice"}}, "viewers"),
    ],
)
def test_add_flow_refuses_a_web_input_it_cannot_run(
    fake: FakeGlobus, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        fake.add_flow(duration=10.0, **options)
