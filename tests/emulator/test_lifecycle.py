"""How runs progress on the clock, go INACTIVE, resume, get canceled and released."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from globus_runs.testing import FakeGlobus

from ._support import error_of, start_run

pytestmark = pytest.mark.anyio


async def get(client: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    response = await client.get(f"/runs/{run_id}")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


async def test_a_run_succeeds_once_its_duration_has_passed(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    run = await start_run(client, flow_id, body={"echo": "hi"})
    fake.clock.advance(9.999)
    assert (await get(client, run["run_id"]))["status"] == "ACTIVE"
    fake.clock.advance(0.001)
    done = await get(client, run["run_id"])
    assert done["status"] == done["display_status"] == "SUCCEEDED"
    assert done["completion_time"] == "2026-03-01T12:00:10.000000+00:00"
    assert done["details"]["code"] == "FlowSucceeded"
    assert done["details"]["description"] == "The Flow run reached a successful completion state"
    assert done["details"]["output"]["echo"] == "hi"


async def test_a_failing_run_ends_failed_with_its_failure_code(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    flow_id = fake.add_flow(
        duration=5, outcome="FAILED", failure_code="Boom", failure_description="it broke"
    )
    run = await start_run(client, flow_id)
    fake.clock.advance(5)
    done = await get(client, run["run_id"])
    assert done["status"] == "FAILED"
    assert (done["details"]["code"], done["details"]["description"]) == ("Boom", "it broke")
    assert "completion_time" in done


async def test_an_ending_run_ends_with_status_ended(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    flow_id = fake.add_flow(duration=1, outcome="ENDED")
    run = await start_run(client, flow_id)
    fake.clock.advance(1)
    assert (await get(client, run["run_id"]))["status"] == "ENDED"


async def test_a_run_goes_inactive_with_consent_details(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    flow_id = fake.add_flow(duration=10, inactive_after=4)
    run = await start_run(client, flow_id)
    fake.clock.advance(4)
    inactive = await get(client, run["run_id"])
    assert inactive["status"] == "INACTIVE"
    details = inactive["details"]
    assert details["code"] == "ConsentRequired"
    scopes = details["details"]["authorization_parameters"]["required_scopes"]
    assert scopes == [
        f"https://auth.globus.org/scopes/{flow_id}/flow_{flow_id.replace('-', '_')}_user"
    ]
    fake.clock.advance(1000)
    assert (await get(client, run["run_id"]))["status"] == "INACTIVE"


async def test_the_inactive_code_is_configurable(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    flow_id = fake.add_flow(duration=10, inactive_after=0, inactive_code="WaitingForInput")
    run = await start_run(client, flow_id)
    assert (await get(client, run["run_id"]))["details"]["code"] == "WaitingForInput"


async def test_resume_continues_for_the_remaining_duration(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    flow_id = fake.add_flow(duration=10, inactive_after=4)
    run = await start_run(client, flow_id)
    fake.clock.advance(100)
    response = await client.post(f"/runs/{run['run_id']}/resume")
    assert response.status_code == 200
    assert response.json()["status"] == "ACTIVE"
    fake.clock.advance(5.999)
    assert (await get(client, run["run_id"]))["status"] == "ACTIVE"
    fake.clock.advance(0.001)
    done = await get(client, run["run_id"])
    assert done["status"] == "SUCCEEDED"
    assert done["completion_time"] == "2026-03-01T12:01:46.000000+00:00"


async def test_resume_of_a_run_that_is_not_inactive_is_a_conflict(
    client: httpx.AsyncClient, flow_id: str
) -> None:
    run = await start_run(client, flow_id)
    response = await client.post(f"/runs/{run['run_id']}/resume")
    assert error_of(response) == (409, "STATE_CONFLICT")
    assert response.json()["error"]["detail"] == (
        f"Run {run['run_id']} has status 'ACTIVE' but must have status in "
        "{'INACTIVE'} for requested operation"
    )


async def test_resume_of_an_unknown_run_is_404(client: httpx.AsyncClient) -> None:
    assert error_of(await client.post("/runs/nope/resume")) == (404, "NOT_FOUND")


async def test_cancel_answers_202_with_the_run_failed_as_canceled(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str, payloads: Any
) -> None:
    run = await start_run(client, flow_id)
    fake.clock.advance(3)
    response = await client.post(f"/runs/{run['run_id']}/cancel")
    assert response.status_code == 202
    canceled = response.json()
    assert canceled["status"] == "FAILED"
    production = payloads.json("flows_run_canceled")["details"]
    assert canceled["details"] == {**production, "time": "2026-03-01T12:00:03.000000+00:00"}
    assert canceled["completion_time"] == "2026-03-01T12:00:03.000000+00:00"
    fake.clock.advance(100)
    assert (await get(client, run["run_id"]))["details"]["code"] == "FlowCanceled"


async def test_an_inactive_run_can_be_canceled(client: httpx.AsyncClient, fake: FakeGlobus) -> None:
    flow_id = fake.add_flow(duration=10, inactive_after=1)
    run = await start_run(client, flow_id)
    fake.clock.advance(2)
    response = await client.post(f"/runs/{run['run_id']}/cancel")
    assert response.status_code == 202
    assert response.json()["details"]["code"] == "FlowCanceled"


async def test_cancel_of_a_finished_run_is_a_conflict(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    run = await start_run(client, flow_id)
    fake.clock.advance(10)
    response = await client.post(f"/runs/{run['run_id']}/cancel")
    assert error_of(response) == (409, "STATE_CONFLICT")
    assert "has status 'SUCCEEDED'" in response.json()["error"]["detail"]


async def test_cancel_of_an_unknown_run_is_404(client: httpx.AsyncClient) -> None:
    assert error_of(await client.post("/runs/nope/cancel")) == (404, "NOT_FOUND")


async def test_release_of_an_active_run_is_the_production_conflict(
    client: httpx.AsyncClient, flow_id: str, payloads: Any
) -> None:
    run = await start_run(client, flow_id)
    response = await client.post(f"/runs/{run['run_id']}/release")
    assert error_of(response) == (409, "STATE_CONFLICT")
    expected = payloads.json("flows_error_409")["error"]["detail"]
    assert response.json()["error"]["detail"] == expected.replace(
        "36ad9f9a-ad29-488f-beb4-c22ab729643a", run["run_id"]
    )


async def test_release_of_a_finished_run_removes_it(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    run = await start_run(client, flow_id)
    fake.clock.advance(10)
    response = await client.post(f"/runs/{run['run_id']}/release")
    assert response.status_code == 200
    assert response.json()["status"] == "SUCCEEDED"
    assert error_of(await client.get(f"/runs/{run['run_id']}")) == (404, "NOT_FOUND")
    assert run["run_id"] not in fake.runs
    assert error_of(await client.post(f"/runs/{run['run_id']}/release")) == (404, "NOT_FOUND")


async def test_a_canceled_run_can_be_released(client: httpx.AsyncClient, flow_id: str) -> None:
    run = await start_run(client, flow_id)
    await client.post(f"/runs/{run['run_id']}/cancel")
    response = await client.post(f"/runs/{run['run_id']}/release")
    assert response.status_code == 200
