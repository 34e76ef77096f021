"""The emulated Timers HTTP API: auth, error shapes, validation, listing and paging."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from globus_runs.testing import FakeGlobus

from .conftest import EVERY_MINUTE, START

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.in_process_only("the emulator's own answers, read with raw httpx: no client path"),
]

TIMERS = "524230d7-ea86-4a52-8312-86065a9e0417"
TIMERS_SCOPE = f"https://auth.globus.org/scopes/{TIMERS}/timer"


def _create_body(flow_id: str, **timer: Any) -> dict[str, Any]:
    fields = {
        "timer_type": "flow",
        "flow_id": flow_id,
        "schedule": EVERY_MINUTE,
        "body": {"body": {}},
    }
    return {"timer": {**fields, **timer}}


def _without(document: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in document.items() if name != key}


async def _raw(fake: FakeGlobus, method: str, path: str, token: str | None) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app), base_url="http://127.0.0.1/timers"
    ) as client:
        return await client.request(method, path, headers=headers)


async def test_an_unknown_timer_is_a_timers_shaped_404(http: httpx.AsyncClient) -> None:
    response = await http.get("/jobs/nope")

    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "NOT_FOUND",
            "detail": "Unable to find job with id: nope",
            "status": 404,
        }
    }


async def test_an_unknown_route_is_a_timers_shaped_404(http: httpx.AsyncClient) -> None:
    response = await http.get("/v2/nothing")

    assert response.status_code == 404
    assert response.json()["error"]["status"] == 404


@pytest.mark.parametrize("token", [None, "wrong"])
async def test_a_missing_or_unknown_token_is_a_timers_shaped_401(
    fake: FakeGlobus, token: str | None
) -> None:
    response = await _raw(fake, "GET", "/jobs/", token)

    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "AUTHENTICATION_ERROR",
            "detail": "Expired or invalid Bearer token",
            "status": 401,
        }
    }


async def test_a_token_without_the_timers_resource_server_is_403_missing_scope(
    fake: FakeGlobus, flow_id: str
) -> None:
    token = fake.issue_token(identity_id=fake.identity_id, resource_servers={flow_id})

    response = await _raw(fake, "GET", "/jobs/", token)

    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "code": "MISSING_SCOPE",
            "detail": f"This action requires the following scope: {TIMERS_SCOPE}",
            "status": 403,
        }
    }


async def test_a_token_for_timers_only_may_manage_timers(fake: FakeGlobus, flow_id: str) -> None:
    token = fake.issue_token(identity_id=fake.identity_id, resource_servers={TIMERS})
    timer_id = fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE)

    response = await _raw(fake, "DELETE", f"/jobs/{timer_id}", token)

    assert response.status_code == 200
    assert response.json()["status"] == "delete_in_progress"


async def test_missing_fields_are_a_fastapi_validation_error(
    http: httpx.AsyncClient, flow_id: str
) -> None:
    body = _create_body(flow_id)
    timer = _without(_without(body["timer"], "schedule"), "body")

    response = await http.post("/v2/timer", json={"timer": timer})

    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "loc": ["body", "timer", "schedule"],
                "msg": "field required",
                "type": "value_error.missing",
            },
            {
                "loc": ["body", "timer", "body"],
                "msg": "field required",
                "type": "value_error.missing",
            },
        ]
    }


@pytest.mark.parametrize(
    ("timer", "loc", "msg"),
    [
        (
            {"schedule": {"type": "recurring", "interval_seconds": 59}},
            ["body", "timer", "schedule", "interval_seconds"],
            "ensure this value is greater than or equal to 60",
        ),
        (
            {"schedule": {"type": "recurring"}},
            ["body", "timer", "schedule", "interval_seconds"],
            "field required",
        ),
        (
            {"schedule": {"type": "weekly"}},
            ["body", "timer", "schedule", "type"],
            "unexpected value; permitted: 'once', 'recurring'",
        ),
        (
            {"schedule": {"type": "once", "datetime": "soon"}},
            ["body", "timer", "schedule", "datetime"],
            "invalid datetime format",
        ),
        (
            {"schedule": {**EVERY_MINUTE, "end": {"condition": "iterations", "count": 0}}},
            ["body", "timer", "schedule", "end", "count"],
            "ensure this value is greater than or equal to 1",
        ),
        ({"body": {}}, ["body", "timer", "body", "body"], "field required"),
        (
            {"body": {"body": {}, "run_managers": ["bob"]}},
            ["body", "timer", "body", "run_managers"],
            "must be a list of identity or group URNs "
            "(urn:globus:auth:identity:<id> or urn:globus:groups:id:<id>)",
        ),
        (
            {"timer_type": "generic"},
            ["body", "timer", "timer_type"],
            "unexpected value; permitted: 'flow', 'transfer'",
        ),
    ],
)
async def test_an_invalid_timer_is_refused_with_the_field_at_fault(
    http: httpx.AsyncClient, flow_id: str, timer: dict[str, Any], loc: list[str], msg: str
) -> None:
    response = await http.post("/v2/timer", json=_create_body(flow_id, **timer))

    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert (problem["loc"], problem["msg"]) == (loc, msg)


CREATED = (START + timedelta(seconds=5)).isoformat(timespec="microseconds")


@pytest.mark.parametrize(
    ("schedule", "shown"),
    [
        (EVERY_MINUTE, {**EVERY_MINUTE, "start": CREATED}),
        ({**EVERY_MINUTE, "start": None}, {**EVERY_MINUTE, "start": CREATED}),
        (
            {**EVERY_MINUTE, "start": "2026-03-02T00:00:00+00:00"},
            {**EVERY_MINUTE, "start": "2026-03-02T00:00:00+00:00"},
        ),
    ],
)
async def test_a_recurring_schedule_is_shown_with_its_start_or_its_creation(
    fake: FakeGlobus,
    http: httpx.AsyncClient,
    flow_id: str,
    schedule: dict[str, Any],
    shown: dict[str, Any],
) -> None:
    fake.clock.advance(5)
    response = await http.post("/v2/timer", json=_create_body(flow_id, schedule=schedule))
    assert response.status_code == 201, response.text
    created = response.json()["timer"]
    read = (await http.get(f"/jobs/{created['job_id']}")).json()

    assert created["schedule"] == read["schedule"] == shown


async def test_a_body_that_is_not_json_is_a_validation_error(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/v2/timer", content=b"{nope", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert (problem["loc"], problem["type"]) == (["body"], "value_error.jsondecode")


async def test_a_rename_may_only_change_the_name(
    fake: FakeGlobus, http: httpx.AsyncClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE, name="a")

    response = await http.patch(f"/jobs/{timer_id}", json={"name": "b", "schedule": {}})

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "schedule"],
            "msg": "extra fields not permitted",
            "type": "value_error.extra",
        }
    ]
    assert fake.timers[timer_id].name == "a"


async def test_resume_takes_update_credentials_from_the_query_or_the_body(
    fake: FakeGlobus, http: httpx.AsyncClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE)

    await http.post(f"/jobs/{timer_id}/resume", params={"update_credentials": "true"})
    await http.post(f"/jobs/{timer_id}/resume", json={"update_credentials": True})
    response = await http.post(f"/jobs/{timer_id}/resume", json={})

    assert response.json() == {"message": f"Successfully resumed job {timer_id}."}
    assert [r.update_credentials for r in fake.timers[timer_id].resumes] == [True, True, False]


async def test_pausing_an_ended_timer_is_a_conflict(
    fake: FakeGlobus, http: httpx.AsyncClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {})

    response = await http.post(f"/jobs/{timer_id}/pause")

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "CONFLICT",
        "detail": f"Cannot pause job {timer_id} with status 'ended'",
        "status": 409,
    }


@pytest.mark.parametrize(
    ("filter_status", "expected"),
    [
        ("active", ["new", "loaded"]),
        ("inactive", ["inactive"]),
        ("ended", ["ended"]),
        ("inactive,ended", ["inactive", "ended"]),
    ],
)
async def test_the_status_filter_maps_to_the_timer_statuses(
    fake: FakeGlobus,
    http: httpx.AsyncClient,
    flow_id: str,
    filter_status: str,
    expected: list[str],
) -> None:
    later = {**EVERY_MINUTE, "start": "2026-03-02T00:00:00+00:00"}
    fake.add_timer(flow_id, {}, schedule=later)  # new
    fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE)  # loaded once it fired
    paused = fake.add_timer(flow_id, {}, schedule=later)
    await http.post(f"/jobs/{paused}/pause")
    fake.add_timer(flow_id, {})  # ended after its only firing
    deleting = fake.add_timer(flow_id, {}, schedule=later)
    await http.delete(f"/jobs/{deleting}")

    response = await http.get("/jobs/", params={"filter_status": filter_status})

    assert [job["status"] for job in response.json()["jobs"]] == expected


async def test_an_unknown_status_filter_is_a_validation_error(http: httpx.AsyncClient) -> None:
    response = await http.get("/jobs/", params={"filter_status": "active,paused"})

    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["query", "filter_status"]


async def test_a_results_token_of_another_timer_is_refused(
    fake: FakeGlobus, http: httpx.AsyncClient, flow_id: str
) -> None:
    first = fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE)
    second = fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE)
    fake.clock.advance(120)
    page = (await http.get(f"/jobs/{first}", params={"page_size": 1})).json()
    token = page["results"]["page_next"]

    response = await http.get(f"/jobs/{second}", params={"results_pt": token})

    assert response.status_code == 400
    assert response.json()["error"]["detail"] == "Invalid results_pt"


async def test_a_page_size_out_of_range_is_a_validation_error(
    fake: FakeGlobus, http: httpx.AsyncClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE)

    response = await http.get(f"/jobs/{timer_id}", params={"page_size": 101})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "page_size"]


async def test_a_results_token_keeps_its_page_size(
    fake: FakeGlobus, http: httpx.AsyncClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE)
    fake.clock.advance(240)  # five firings
    first = (await http.get(f"/jobs/{timer_id}", params={"page_size": 2})).json()

    token = first["results"]["page_next"]
    second = (await http.get(f"/jobs/{timer_id}", params={"results_pt": token})).json()

    assert len(second["results"]["data"]) == 2
    assert second["results"]["page_next"] is not None
