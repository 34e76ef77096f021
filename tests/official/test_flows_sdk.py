"""``globus_sdk.FlowsClient`` and ``SpecificFlowClient`` against the served emulator."""

from __future__ import annotations

from collections.abc import Callable

import globus_sdk
import pytest

from globus_runs.testing import FakeGlobus

from .conftest import START, sent

FLOW_SCOPE_BASE = "https://auth.globus.org/scopes/"
OTHER_FLOW = "0b3fd2b5-6d5e-4a5a-a0c6-bf4ab0a4d2d1"

SpecificFlow = Callable[[str], globus_sdk.SpecificFlowClient]


def urn(identity_id: str) -> str:
    return f"urn:globus:auth:identity:{identity_id}"


def test_run_flow_starts_a_run_with_the_fields_sent(
    fake: FakeGlobus, specific_flow: SpecificFlow, flow_id: str, identity_id: str
) -> None:
    run = specific_flow(flow_id).run_flow({"n": 1}, label="first", tags=["a", "b"])
    assert run.http_status == 201
    assert (run["flow_id"], run["status"], run["label"], run["tags"]) == (
        flow_id,
        "ACTIVE",
        "first",
        ["a", "b"],
    )
    assert run["run_owner"] == urn(identity_id)
    [request] = sent(fake, "flows")
    assert (request.method, request.path) == ("POST", f"/flows/{flow_id}/run")
    assert request.json == {"body": {"n": 1}, "label": "first", "tags": ["a", "b"]}


def test_get_run_answers_the_run_document(
    fake: FakeGlobus, flows: globus_sdk.FlowsClient, flow_id: str, identity_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1, owner=identity_id)
    run = flows.get_run(run_id)
    assert run.data == fake.get_run_document(run_id)
    assert "flow_description" not in run.data
    assert sent(fake, "flows")[0].query == []


def test_get_run_with_include_flow_description_sends_python_true_and_is_answered(
    fake: FakeGlobus, flows: globus_sdk.FlowsClient, flow_id: str, identity_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1, owner=identity_id)
    run = flows.get_run(run_id, include_flow_description=True)
    assert sent(fake, "flows")[0].query == [("include_flow_description", "True")]
    assert run["flow_description"]["id"] == flow_id
    assert run["flow_description"]["title"] == "Ten Seconds"


def test_get_run_with_include_flow_description_false_leaves_it_out(
    fake: FakeGlobus, flows: globus_sdk.FlowsClient, flow_id: str, identity_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1, owner=identity_id)
    run = flows.get_run(run_id, include_flow_description=False)
    assert sent(fake, "flows")[0].query == [("include_flow_description", "False")]
    assert "flow_description" not in run.data


def test_paginated_list_runs_yields_every_run_once(
    fake: FakeGlobus, flows: globus_sdk.FlowsClient, flow_id: str, identity_id: str
) -> None:
    run_ids = fake.add_runs(flow_id, 45, owner=identity_id, interval=1)
    listed = [run["run_id"] for run in flows.paginated.list_runs().items()]
    assert listed == run_ids[::-1]  # newest first, each once
    requests = sent(fake, "flows")
    assert [request.path for request in requests] == ["/runs"] * 3
    assert requests[0].query == []
    assert [name for name, _ in requests[1].query] == ["marker"]


def test_paginated_list_runs_with_filters_keeps_them_on_every_page(
    fake: FakeGlobus, flows: globus_sdk.FlowsClient, flow_id: str, identity_id: str
) -> None:
    other_flow = fake.add_flow(title="Other", owner=identity_id)
    wanted = fake.add_runs(flow_id, 25, owner=identity_id, interval=1)
    fake.add_runs(other_flow, 5, owner=identity_id, interval=1)
    pages = flows.paginated.list_runs(filter_flow_id=[flow_id], filter_roles=["run_owner"])
    listed = [run["run_id"] for run in pages.items()]
    assert sorted(listed) == sorted(wanted)
    assert len(listed) == len(set(listed)) == 25
    first, second = sent(fake, "flows")
    assert first.query == [("filter_flow_id", flow_id), ("filter_roles", "run_owner")]
    assert dict(second.query).keys() == {"filter_flow_id", "filter_roles", "marker"}


def test_paginated_get_run_logs_yields_every_entry_in_order(
    fake: FakeGlobus, flows: globus_sdk.FlowsClient, flow_id: str, identity_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1, owner=identity_id, start=START)
    fake.clock.advance(60)
    codes = [entry["code"] for entry in flows.paginated.get_run_logs(run_id, limit=2).items()]
    assert codes == [
        "FlowStarted",
        "ActionStarted",
        "ActionCompleted",
        "ActionStarted",
        "ActionCompleted",
        "FlowSucceeded",
    ]
    assert len(sent(fake, "flows")) == 3


def test_paginated_get_run_logs_in_reverse_order_sends_python_true(
    fake: FakeGlobus, flows: globus_sdk.FlowsClient, flow_id: str, identity_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1, owner=identity_id, start=START)
    fake.clock.advance(60)
    pages = flows.paginated.get_run_logs(run_id, limit=4, reverse_order=True)
    codes = [entry["code"] for entry in pages.items()]
    assert codes == [
        "FlowSucceeded",
        "ActionCompleted",
        "ActionStarted",
        "ActionCompleted",
        "ActionStarted",
        "FlowStarted",
    ]
    assert sent(fake, "flows")[0].query == [("limit", "4"), ("reverse_order", "True")]


def test_update_run_changes_the_fields_sent(
    fake: FakeGlobus, flows: globus_sdk.FlowsClient, flow_id: str, identity_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1, owner=identity_id, label="before")
    updated = flows.update_run(run_id, label="after", tags=["x"])
    assert (updated["label"], updated["tags"]) == ("after", ["x"])
    [request] = sent(fake, "flows")
    assert (request.method, request.path, request.json) == (
        "PUT",
        f"/runs/{run_id}",
        {"label": "after", "tags": ["x"]},
    )


def test_cancel_run_ends_an_active_run(
    fake: FakeGlobus, flows: globus_sdk.FlowsClient, flow_id: str, identity_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1, owner=identity_id)
    canceled = flows.cancel_run(run_id)
    assert canceled.http_status == 202
    assert canceled["status"] == "FAILED"
    assert canceled["details"]["code"] == "FlowCanceled"
    assert fake.get_run_document(run_id)["status"] == "FAILED"


def test_delete_run_of_a_finished_run_forgets_it(
    fake: FakeGlobus, flows: globus_sdk.FlowsClient, flow_id: str, identity_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1, owner=identity_id, duration=1)
    fake.clock.advance(5)
    deleted = flows.delete_run(run_id)
    assert (deleted.http_status, deleted["run_id"], deleted["status"]) == (200, run_id, "SUCCEEDED")
    assert [(r.method, r.path) for r in sent(fake, "flows")] == [
        ("POST", f"/runs/{run_id}/release")
    ]
    assert run_id not in fake.runs


def test_delete_run_of_an_unfinished_run_is_a_409_state_conflict(
    fake: FakeGlobus, flows: globus_sdk.FlowsClient, flow_id: str, identity_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1, owner=identity_id)
    with pytest.raises(globus_sdk.FlowsAPIError) as caught:
        flows.delete_run(run_id)
    assert (caught.value.http_status, caught.value.code) == (409, "STATE_CONFLICT")
    assert run_id in fake.runs


def test_resume_run_continues_an_inactive_run(
    fake: FakeGlobus, specific_flow: SpecificFlow, identity_id: str
) -> None:
    flow_id = fake.add_flow(duration=10, inactive_after=2, owner=identity_id)
    client = specific_flow(flow_id)
    run_id = client.run_flow({})["run_id"]
    fake.clock.advance(3)
    assert fake.get_run_document(run_id)["status"] == "INACTIVE"
    resumed = client.resume_run(run_id)
    assert (resumed["run_id"], resumed["status"]) == (run_id, "ACTIVE")
    assert [(r.method, r.path) for r in sent(fake, "flows")][-1] == (
        "POST",
        f"/runs/{run_id}/resume",
    )


def test_get_run_definition_answers_the_flow_definition_and_schema(
    fake: FakeGlobus, flows: globus_sdk.FlowsClient, flow_id: str, identity_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1, owner=identity_id)
    definition = flows.get_run_definition(run_id)
    flow = fake.flows[flow_id]
    assert definition.data == {
        "flow_id": flow_id,
        "definition": flow.definition,
        "input_schema": flow.input_schema,
    }


def test_get_flow_answers_the_flow_document(
    fake: FakeGlobus, flows: globus_sdk.FlowsClient, flow_id: str, identity_id: str
) -> None:
    flow = flows.get_flow(flow_id)
    assert (flow["id"], flow["title"], flow["flow_owner"], flow["user_role"]) == (
        flow_id,
        "Ten Seconds",
        urn(identity_id),
        "flow_owner",
    )
    assert flow["globus_auth_scope"] == (
        f"{FLOW_SCOPE_BASE}{flow_id}/flow_{flow_id.replace('-', '_')}_user"
    )
    assert flow["definition"] == fake.flows[flow_id].definition


def test_get_flow_of_an_unknown_flow_is_a_404(flows: globus_sdk.FlowsClient) -> None:
    with pytest.raises(globus_sdk.FlowsAPIError) as caught:
        flows.get_flow(OTHER_FLOW)
    assert (caught.value.http_status, caught.value.code) == (404, "NOT_FOUND")


def test_paginated_list_flows_yields_every_flow_once(
    fake: FakeGlobus, flows: globus_sdk.FlowsClient, identity_id: str
) -> None:
    mine = [fake.add_flow(title=f"Mine {i}", owner=identity_id) for i in range(5)]
    pages = flows.paginated.list_flows(filter_roles=["flow_owner"], query_params={"per_page": 2})
    assert [flow["id"] for flow in pages.items()] == mine
    assert len(sent(fake, "flows")) == 3
