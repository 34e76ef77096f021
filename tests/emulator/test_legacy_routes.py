"""The older Flows routes production still answers, and the spellings it still reads."""

from __future__ import annotations

import httpx
import pytest

from globus_runs.testing import FakeGlobus

from ._support import error_of, start_run

pytestmark = pytest.mark.anyio


async def test_the_runs_of_a_flow_are_listed_under_the_flow(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    other = fake.add_flow()
    mine = [(await start_run(client, flow_id))["run_id"] for _ in range(3)]
    await start_run(client, other)
    first = (await client.get(f"/flows/{flow_id}/runs", params={"per_page": 2})).json()
    second = (await client.get(f"/flows/{flow_id}/runs", params={"marker": first["marker"]})).json()
    assert [r["run_id"] for r in first["runs"] + second["runs"]] == mine[::-1]
    missing = await client.get("/flows/00000000-0000-4000-8000-000000000000/runs")
    assert error_of(missing) == (404, "NOT_FOUND")


async def test_a_run_log_is_read_under_its_flow(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    run_id = (await start_run(client, flow_id))["run_id"]
    fake.clock.advance(60)
    log = (await client.get(f"/flows/{flow_id}/runs/{run_id}/log")).json()
    assert log == (await client.get(f"/runs/{run_id}/log")).json()
    other = fake.add_flow()
    wrong = await client.get(f"/flows/{other}/runs/{run_id}/log")
    assert error_of(wrong) == (404, "NOT_FOUND")


async def test_a_run_is_resumed_under_its_flow(client: httpx.AsyncClient, fake: FakeGlobus) -> None:
    pausing = fake.add_flow(duration=30, inactive_after=5)
    run_id = (await start_run(client, pausing))["run_id"]
    fake.clock.advance(10)
    elsewhere = await client.post(f"/flows/{fake.add_flow()}/{run_id}/resume")
    resumed = await client.post(f"/flows/{pausing}/{run_id}/resume")
    assert error_of(elsewhere) == (404, "NOT_FOUND")
    assert (resumed.status_code, resumed.json()["status"]) == (200, "ACTIVE")


async def test_tags_are_normalized_by_a_batch_update(
    client: httpx.AsyncClient, flow_id: str
) -> None:
    run_id = (await start_run(client, flow_id))["run_id"]
    body = {"filters": {"run_ids": [run_id]}, "set": {"tags": ["  a \t b  "]}}
    assert (await client.post("/batch/runs", json=body)).status_code == 202
    assert (await client.get(f"/runs/{run_id}")).json()["tags"] == ["a b"]


async def test_a_flow_run_monitor_lists_runs_without_their_managers(fake: FakeGlobus) -> None:
    watcher = "urn:globus:auth:identity:0b5c2f5a-0000-4000-8000-0000000000aa"
    flow_id = fake.add_flow(run_monitors=[watcher])
    manager = "urn:globus:auth:identity:0b5c2f5a-0000-4000-8000-0000000000bb"
    fake.add_runs(flow_id, 1, run_managers=[manager])
    token = fake.issue_token(identity_id=watcher.rpartition(":")[2])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app),
        base_url="http://127.0.0.1/flows",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        listed = (await client.get("/runs", params={"filter_roles": "flow_run_monitors"})).json()
    [run] = listed["runs"]
    assert (run["user_role"], run["run_managers"], run["manage_by"]) == (
        "flow_run_monitor",
        [],
        [],
    )


async def test_the_runs_of_a_flow_take_the_flow_roles_in_the_deprecated_filter_role(
    fake: FakeGlobus,
) -> None:
    carol = "0b5c2f5a-0000-4000-8000-0000000000cc"
    urn = f"urn:globus:auth:identity:{carol}"
    managed_flow = fake.add_flow(run_managers=[urn])
    watched_flow = fake.add_flow(run_monitors=[urn])
    managed = fake.add_runs(managed_flow, 2)
    watched = fake.add_runs(watched_flow, 1)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app),
        base_url="http://127.0.0.1/flows",
        headers={"Authorization": f"Bearer {fake.issue_token(identity_id=carol)}"},
    ) as client:

        async def listed(flow_id: str, role: str) -> list[str]:
            response = await client.get(f"/flows/{flow_id}/runs", params={"filter_role": role})
            assert response.status_code == 200, response.text
            return [run["run_id"] for run in response.json()["runs"]]

        assert await listed(managed_flow, "flow_run_manager") == managed[::-1]
        assert await listed(watched_flow, "flow_run_manager") == watched
        assert await listed(watched_flow, "flow_run_monitor") == watched
        assert await listed(managed_flow, "flow_run_monitor") == []
        refused = await client.get("/runs", params={"filter_role": "flow_run_manager"})
    assert error_of(refused) == (422, "UNPROCESSABLE_ENTITY")
