"""``GET /runs/{id}/log``: entries over time, limits, order and markers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from globus_runs.testing import FakeGlobus

from ._support import error_of, start_run

pytestmark = pytest.mark.anyio


async def log(client: httpx.AsyncClient, run_id: str, **params: Any) -> dict[str, Any]:
    response = await client.get(f"/runs/{run_id}/log", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def all_codes(client: httpx.AsyncClient, run_id: str, **params: Any) -> list[str]:
    page = await log(client, run_id, limit=100, **params)
    assert page["has_next_page"] is False
    return [entry["code"] for entry in page["entries"]]


async def test_only_entries_whose_time_has_come_are_logged(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    run_id = (await start_run(client, flow_id))["run_id"]
    assert await all_codes(client, run_id) == ["FlowStarted", "ActionStarted"]
    fake.clock.advance(5)
    assert await all_codes(client, run_id) == [
        "FlowStarted",
        "ActionStarted",
        "ActionCompleted",
        "ActionStarted",
    ]
    fake.clock.advance(5)
    assert await all_codes(client, run_id) == [
        "FlowStarted",
        "ActionStarted",
        "ActionCompleted",
        "ActionStarted",
        "ActionCompleted",
        "FlowSucceeded",
    ]


async def test_entries_have_the_production_shape(
    client: httpx.AsyncClient, fake: FakeGlobus, payloads: Any
) -> None:
    flow_id = fake.add_flow(steps=1, step_type="Pass")
    run_id = (await start_run(client, flow_id, body={"a": 1}))["run_id"]
    page = await log(client, run_id)
    assert set(page) == set(payloads.json("flows_run_log_page"))
    first, second = page["entries"]
    assert first == {
        "time": "2026-03-01T12:00:00.000000+00:00",
        "code": "FlowStarted",
        "description": "The Flow Instance started execution",
        "details": {"input": {"a": 1}},
    }
    assert second["code"] == "PassStarted"
    assert second["details"]["state_name"] == "Step1"


async def test_a_failing_run_logs_the_failed_step_and_flow(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    flow_id = fake.add_flow(duration=2, steps=1, outcome="FAILED", failure_code="Boom")
    run_id = (await start_run(client, flow_id))["run_id"]
    fake.clock.advance(2)
    page = await log(client, run_id, limit=100)
    assert [e["code"] for e in page["entries"]] == [
        "FlowStarted",
        "ActionStarted",
        "ActionFailed",
        "FlowFailed",
    ]
    assert page["entries"][-1]["details"]["code"] == "Boom"


async def test_inactive_resume_and_cancel_are_logged(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    flow_id = fake.add_flow(duration=10, steps=1, inactive_after=2)
    run_id = (await start_run(client, flow_id))["run_id"]
    fake.clock.advance(3)
    assert await all_codes(client, run_id) == ["FlowStarted", "ActionStarted", "FlowInactive"]
    await client.post(f"/runs/{run_id}/resume")
    fake.clock.advance(1)
    await client.post(f"/runs/{run_id}/cancel")
    fake.clock.advance(100)
    assert await all_codes(client, run_id) == [
        "FlowStarted",
        "ActionStarted",
        "FlowInactive",
        "FlowResumed",
        "FlowCanceled",
    ]


async def test_the_default_limit_is_10(client: httpx.AsyncClient, fake: FakeGlobus) -> None:
    flow_id = fake.add_flow(steps=10)
    run_id = (await start_run(client, flow_id))["run_id"]
    fake.clock.advance(10)
    page = await log(client, run_id)
    assert (len(page["entries"]), page["limit"], page["has_next_page"]) == (10, 10, True)


async def test_markers_page_through_the_whole_log(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    flow_id = fake.add_flow(steps=3)
    run_id = (await start_run(client, flow_id))["run_id"]
    fake.clock.advance(10)
    expected = await all_codes(client, run_id)
    assert len(expected) == 8
    page = await log(client, run_id, limit=3)
    codes = [e["code"] for e in page["entries"]]
    while page["has_next_page"]:
        # Other parameters are ignored once a marker is sent.
        page = await log(client, run_id, marker=page["marker"], limit=1, reverse_order="true")
        assert page["limit"] == 3
        codes += [e["code"] for e in page["entries"]]
    assert codes == expected
    assert page["marker"] is None


async def test_reverse_order_pages_from_the_newest_entry(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    flow_id = fake.add_flow(steps=3)
    run_id = (await start_run(client, flow_id))["run_id"]
    fake.clock.advance(10)
    expected = await all_codes(client, run_id)
    page = await log(client, run_id, limit=3, reverse_order="true")
    codes = [e["code"] for e in page["entries"]]
    assert codes[0] == "FlowSucceeded"
    while page["has_next_page"]:
        page = await log(client, run_id, marker=page["marker"])
        codes += [e["code"] for e in page["entries"]]
    assert codes == expected[::-1]


async def test_entries_logged_while_paging_forward_are_not_lost(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    flow_id = fake.add_flow(steps=2)
    run_id = (await start_run(client, flow_id))["run_id"]
    fake.clock.advance(5)
    first = await log(client, run_id, limit=2)
    assert first["has_next_page"] is True
    fake.clock.advance(5)
    second = await log(client, run_id, marker=first["marker"])
    assert [e["code"] for e in second["entries"]] == ["ActionCompleted", "ActionStarted"]
    assert second["has_next_page"] is True


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"limit": "0"}, id="limit 0"),
        pytest.param({"limit": "101"}, id="limit 101"),
        pytest.param({"limit": "ten"}, id="limit not a number"),
        pytest.param({"reverse_order": "yes"}, id="reverse_order not a boolean"),
        pytest.param({"reverse_order": ""}, id="reverse_order empty"),
        pytest.param({"limit": ""}, id="limit empty"),
    ],
)
async def test_unparsable_parameters_are_400(
    client: httpx.AsyncClient, flow_id: str, params: dict[str, str]
) -> None:
    run_id = (await start_run(client, flow_id))["run_id"]
    response = await client.get(f"/runs/{run_id}/log", params=params)
    assert error_of(response) == (400, "BAD_REQUEST")
    [item] = response.json()["error"]["detail"]
    assert item["loc"] == ["query", next(iter(params))]


async def test_limit_100_is_accepted(client: httpx.AsyncClient, flow_id: str) -> None:
    run_id = (await start_run(client, flow_id))["run_id"]
    assert (await log(client, run_id, limit=100))["limit"] == 100


async def test_a_bad_marker_is_400(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    run_id = (await start_run(client, flow_id))["run_id"]
    other_id = (await start_run(client, flow_id))["run_id"]
    fake.clock.advance(10)
    marker = (await log(client, run_id, limit=1))["marker"]
    response = await client.get(f"/runs/{run_id}/log", params={"marker": "garbage!"})
    assert error_of(response) == (400, "BAD_REQUEST")
    response = await client.get(f"/runs/{other_id}/log", params={"marker": marker})
    assert error_of(response) == (400, "BAD_REQUEST")


async def test_log_of_an_unknown_run_is_404(client: httpx.AsyncClient) -> None:
    assert error_of(await client.get("/runs/nope/log")) == (404, "NOT_FOUND")
