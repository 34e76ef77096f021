"""Starting, validating, reading, updating and inspecting runs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from globus_runs.testing import FakeGlobus

from ._support import error_of, start_run

pytestmark = pytest.mark.anyio

SCHEMA = {
    "type": "object",
    "required": ["echo"],
    "properties": {"echo": {"type": "string"}, "bool": {"type": "boolean"}},
}


def urn(identity_id: str) -> str:
    return f"urn:globus:auth:identity:{identity_id}"


async def test_start_run_answers_201_with_a_production_shaped_run(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str, payloads: Any
) -> None:
    response = await client.post(
        f"/flows/{flow_id}/run",
        json={"body": {"x": 1}, "label": "my run", "tags": ["a", "b"]},
    )
    assert response.status_code == 201
    run = response.json()
    assert run["run_id"] == run["action_id"]
    assert run["flow_id"] == flow_id
    assert run["flow_title"] == "Ten Seconds"
    assert run["status"] == run["display_status"] == "ACTIVE"
    assert run["start_time"] == "2026-03-01T12:00:00.000000+00:00"
    assert "completion_time" not in run
    assert run["run_owner"] == run["created_by"] == urn(fake.identity_id)
    assert (run["user_role"], run["user_roles"]) == ("run_owner", ["run_owner"])
    assert (run["label"], run["tags"]) == ("my run", ["a", "b"])
    production = payloads.json("flows_run_succeeded")
    assert set(production) - {"completion_time"} <= set(run)


async def test_start_run_stores_managers_monitors_and_notification_policy(
    client: httpx.AsyncClient, flow_id: str
) -> None:
    manager, monitor = urn("m"), "urn:globus:groups:id:g"
    run = await start_run(
        client,
        flow_id,
        run_managers=[manager],
        run_monitors=[monitor],
        activity_notification_policy={"status": ["FAILED", "SUCCEEDED"]},
    )
    assert run["run_managers"] == run["manage_by"] == [manager]
    assert run["run_monitors"] == run["monitor_by"] == [monitor]
    assert run["activity_notification_policy"] == {"status": ["FAILED", "SUCCEEDED"]}


async def test_start_run_of_an_unknown_flow_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/flows/no-such-flow/run", json={"body": {}})
    assert error_of(response) == (404, "NOT_FOUND")


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({}, id="body missing"),
        pytest.param({"body": []}, id="body not an object"),
        pytest.param({"body": {}, "tags": "one"}, id="tags not a list"),
        pytest.param({"body": {}, "run_managers": ["bob"]}, id="manager not a URN"),
        pytest.param({"body": {}, "label": 5}, id="label not a string"),
        pytest.param(
            {"body": {}, "activity_notification_policy": {"status": ["ACTIVE"]}},
            id="policy status",
        ),
        pytest.param({"body": {}, "activity_notification_policy": ["FAILED"]}, id="policy shape"),
    ],
)
async def test_start_run_rejects_invalid_fields_with_422(
    client: httpx.AsyncClient, flow_id: str, fields: dict[str, Any]
) -> None:
    response = await client.post(f"/flows/{flow_id}/run", json=fields)
    assert error_of(response) == (422, "UNPROCESSABLE_ENTITY")
    assert isinstance(response.json()["error"]["detail"], list)


async def test_start_run_with_a_body_that_is_not_an_object_is_422(
    client: httpx.AsyncClient, flow_id: str
) -> None:
    response = await client.post(f"/flows/{flow_id}/run", json=["body"])
    assert error_of(response) == (422, "UNPROCESSABLE_ENTITY")


async def test_start_run_with_malformed_json_is_400(
    client: httpx.AsyncClient, flow_id: str
) -> None:
    response = await client.post(f"/flows/{flow_id}/run", content=b"{not json")
    assert error_of(response) == (400, "BAD_REQUEST")


async def test_a_label_longer_than_64_characters_is_400(
    client: httpx.AsyncClient, flow_id: str
) -> None:
    await start_run(client, flow_id, label="x" * 64)
    response = await client.post(f"/flows/{flow_id}/run", json={"body": {}, "label": "x" * 65})
    assert error_of(response) == (400, "BAD_REQUEST")
    assert response.json()["error"]["detail"][0]["loc"] == ["body", "label"]


async def test_start_run_ignores_unknown_top_level_fields(
    client: httpx.AsyncClient, flow_id: str
) -> None:
    run = await start_run(client, flow_id, release_after="P30D")
    assert run["status"] == "ACTIVE"


async def test_input_failing_the_schema_is_a_flow_input_error(
    client: httpx.AsyncClient, fake: FakeGlobus, payloads: Any
) -> None:
    flow_id = fake.add_flow(input_schema=SCHEMA)
    response = await client.post(
        f"/flows/{flow_id}/run", json={"body": {"echo": "hi", "bool": "not-a-boolean"}}
    )
    assert response.status_code == 400
    expected = payloads.json("flows_error_400")
    assert response.json()["error"] == expected["error"]
    assert fake.runs == {}


async def test_input_errors_are_all_reported(client: httpx.AsyncClient, fake: FakeGlobus) -> None:
    flow_id = fake.add_flow(input_schema=SCHEMA)
    response = await client.post(f"/flows/{flow_id}/run", json={"body": {"bool": 1}})
    error = response.json()["error"]
    assert error["code"] == "FLOW_INPUT_ERROR"
    assert error["message"] == "Input failed schema validation with 2 errors."
    assert [item["loc"] for item in error["detail"]] == [["$"], ["$.bool"]]


async def test_validate_run_accepts_valid_input_without_starting_a_run(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    flow_id = fake.add_flow(input_schema=SCHEMA)
    response = await client.post(f"/flows/{flow_id}/validate_run", json={"body": {"echo": "x"}})
    assert response.status_code == 200
    assert response.json() == {"message": "validation successful"}
    assert fake.runs == {}


async def test_validate_run_rejects_invalid_input(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    flow_id = fake.add_flow(input_schema=SCHEMA)
    response = await client.post(f"/flows/{flow_id}/validate_run", json={"body": {}})
    assert error_of(response) == (400, "FLOW_INPUT_ERROR")
    # Invalid metadata too is a 400 here (the endpoint documents no 422).
    response = await client.post(f"/flows/{flow_id}/validate_run", json={"label": "no body"})
    assert error_of(response) == (400, "BAD_REQUEST")
    response = await client.post(
        f"/flows/{flow_id}/validate_run", json={"body": {"n": 1}, "run_managers": ["bob"]}
    )
    assert error_of(response) == (400, "BAD_REQUEST")
    assert response.json()["error"]["detail"][0]["loc"] == ["body", "run_managers"]
    response = await client.post("/flows/unknown/validate_run", json={"body": {}})
    assert error_of(response) == (404, "NOT_FOUND")


async def test_get_run_returns_the_current_document(
    client: httpx.AsyncClient, flow_id: str
) -> None:
    run = await start_run(client, flow_id, label="read me")
    response = await client.get(f"/runs/{run['run_id']}")
    assert response.status_code == 200
    assert response.json() == run


async def test_get_run_includes_the_flow_description_on_request(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    run = await start_run(client, flow_id)
    plain = await client.get(f"/runs/{run['run_id']}", params={"include_flow_description": "false"})
    assert "flow_description" not in plain.json()
    described = await client.get(
        f"/runs/{run['run_id']}", params={"include_flow_description": "true"}
    )
    description = described.json()["flow_description"]
    assert description["id"] == flow_id
    assert description["title"] == "Ten Seconds"
    assert description["flow_owner"] == urn(fake.identity_id)
    assert description["globus_auth_scope"] == (
        f"https://auth.globus.org/scopes/{flow_id}/flow_{flow_id.replace('-', '_')}_user"
    )
    assert {"subtitle", "description", "keywords", "created_at", "updated_at"} <= set(description)


@pytest.mark.parametrize(("value", "included"), [("True", True), ("TRUE", True), ("False", False)])
async def test_booleans_are_read_in_any_letter_case(
    client: httpx.AsyncClient, flow_id: str, value: str, included: bool
) -> None:
    run = await start_run(client, flow_id)
    response = await client.get(
        f"/runs/{run['run_id']}", params={"include_flow_description": value}
    )
    assert response.status_code == 200
    assert ("flow_description" in response.json()) is included


@pytest.mark.parametrize("value", ["1", "yes", "", "truthy"])
async def test_booleans_other_than_true_and_false_are_422(
    client: httpx.AsyncClient, flow_id: str, value: str
) -> None:
    run = await start_run(client, flow_id)
    response = await client.get(
        f"/runs/{run['run_id']}", params={"include_flow_description": value}
    )
    assert error_of(response) == (422, "UNPROCESSABLE_ENTITY")


async def test_get_unknown_run_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/runs/00000000-0000-0000-0000-000000000000")
    assert error_of(response) == (404, "NOT_FOUND")


async def test_update_changes_only_the_fields_sent(client: httpx.AsyncClient, flow_id: str) -> None:
    run = await start_run(client, flow_id, label="before", tags=["a"], run_monitors=[urn("x")])
    response = await client.put(f"/runs/{run['run_id']}", json={"tags": ["b", "c"]})
    assert response.status_code == 200
    updated = response.json()
    assert updated["tags"] == ["b", "c"]
    assert updated["label"] == "before"
    assert updated["run_monitors"] == [urn("x")]


async def test_update_with_empty_lists_clears_them(client: httpx.AsyncClient, flow_id: str) -> None:
    run = await start_run(client, flow_id, tags=["a"], run_managers=[urn("m")])
    response = await client.put(
        f"/runs/{run['run_id']}", json={"tags": [], "run_managers": [], "label": "new"}
    )
    assert (response.json()["tags"], response.json()["run_managers"]) == ([], [])
    assert response.json()["label"] == "new"


async def test_update_with_unknown_or_invalid_fields_is_422(
    client: httpx.AsyncClient, flow_id: str
) -> None:
    run = await start_run(client, flow_id, label="kept")
    response = await client.put(f"/runs/{run['run_id']}", json={"status": "SUCCEEDED"})
    assert error_of(response) == (422, "UNPROCESSABLE_ENTITY")
    assert response.json()["error"]["detail"][0]["loc"] == ["body", "status"]
    response = await client.put(f"/runs/{run['run_id']}", json={"tags": [1]})
    assert error_of(response) == (422, "UNPROCESSABLE_ENTITY")
    response = await client.put(f"/runs/{run['run_id']}", json={"label": "y" * 65})
    assert error_of(response) == (400, "BAD_REQUEST")
    assert (await client.get(f"/runs/{run['run_id']}")).json()["label"] == "kept"


async def test_update_unknown_run_is_404(client: httpx.AsyncClient) -> None:
    response = await client.put("/runs/nope", json={"label": "x"})
    assert error_of(response) == (404, "NOT_FOUND")


async def test_definition_returns_the_flow_definition_and_schema(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    definition = {"StartAt": "Only", "States": {"Only": {"Type": "Pass", "End": True}}}
    flow_id = fake.add_flow(definition=definition, input_schema=SCHEMA)
    run = await start_run(client, flow_id, body={"echo": "x"})
    response = await client.get(f"/runs/{run['run_id']}/definition")
    assert response.status_code == 200
    assert response.json() == {
        "flow_id": flow_id,
        "definition": definition,
        "input_schema": SCHEMA,
    }


async def test_default_definition_has_one_state_per_step(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    flow_id = fake.add_flow(steps=3)
    run = await start_run(client, flow_id)
    definition = (await client.get(f"/runs/{run['run_id']}/definition")).json()["definition"]
    assert definition["StartAt"] == "Step1"
    assert list(definition["States"]) == ["Step1", "Step2", "Step3"]
    assert definition["States"]["Step3"]["End"] is True


async def test_unknown_routes_and_methods_answer_in_the_error_shape(
    client: httpx.AsyncClient,
) -> None:
    assert error_of(await client.get("/nothing/here")) == (404, "NOT_FOUND")
    assert error_of(await client.delete("/runs")) == (405, "METHOD_NOT_ALLOWED")
