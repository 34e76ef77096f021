"""The FastAPI example, with the emulator as Globus and two users calling it at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx
import pytest

from examples.fastapi_app import Settings, create_app
from globus_runs.testing import FakeClock, FakeGlobus

pytestmark = pytest.mark.anyio

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ALICE = "a1a1a1a1-0000-4000-8000-000000000001"
BOB = "b0b0b0b0-0000-4000-8000-000000000002"


@pytest.fixture
def fake() -> FakeGlobus:
    return FakeGlobus(clock=FakeClock(START))


@pytest.fixture
def flow_id(fake: FakeGlobus) -> str:
    return fake.add_flow(title="Ten Seconds", duration=10.0)


@pytest.fixture
async def service(fake: FakeGlobus) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the example app, whose Globus is the emulator (lifespan included)."""
    app = create_app(
        Settings(flows_url=fake.flows_url), transport=httpx.ASGITransport(app=fake.app)
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://service.test"
        ) as client,
    ):
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_two_users_at_once_each_see_only_their_own_runs(
    fake: FakeGlobus, flow_id: str, service: httpx.AsyncClient
) -> None:
    tokens = {ALICE: fake.issue_token(identity_id=ALICE), BOB: fake.issue_token(identity_id=BOB)}
    started: dict[str, set[str]] = {ALICE: set(), BOB: set()}
    listed: dict[str, set[str]] = {}

    async def start(user: str, n: int) -> None:
        response = await service.post(
            "/runs",
            json={"flow_id": flow_id, "body": {"n": n}, "label": f"{user[:4]}-{n}"},
            headers=bearer(tokens[user]),
        )
        assert response.status_code == 201, response.text
        started[user].add(response.json()["run_id"])

    async def list_mine(user: str) -> None:
        response = await service.get("/runs", headers=bearer(tokens[user]))
        assert response.status_code == 200, response.text
        listed[user] = {run["run_id"] for run in response.json()["runs"]}

    async with anyio.create_task_group() as tg:
        for n in range(3):
            tg.start_soon(start, ALICE, n)
            tg.start_soon(start, BOB, n)
    async with anyio.create_task_group() as tg:
        tg.start_soon(list_mine, ALICE)
        tg.start_soon(list_mine, BOB)

    assert listed == started
    assert len(started[ALICE]) == len(started[BOB]) == 3
    owners = {run_id: fake.runs[run_id].owner for run_id in started[ALICE] | started[BOB]}
    assert {owners[r] for r in started[ALICE]} == {f"urn:globus:auth:identity:{ALICE}"}
    assert {owners[r] for r in started[BOB]} == {f"urn:globus:auth:identity:{BOB}"}


async def test_each_globus_request_carries_its_callers_token(
    fake: FakeGlobus, flow_id: str, service: httpx.AsyncClient
) -> None:
    alice, bob = fake.issue_token(identity_id=ALICE), fake.issue_token(identity_id=BOB)
    await service.post("/runs", json={"flow_id": flow_id, "body": {}}, headers=bearer(alice))
    await service.get("/runs", headers=bearer(bob))
    assert [(r.method, r.path, r.headers["authorization"]) for r in fake.requests] == [
        ("POST", f"/flows/{flow_id}/run", f"Bearer {alice}"),
        ("GET", "/runs", f"Bearer {bob}"),
    ]
    assert fake.requests[1].params == {"filter_roles": "run_owner"}


async def test_get_run_answers_the_run(
    fake: FakeGlobus, flow_id: str, service: httpx.AsyncClient
) -> None:
    [run_id] = fake.add_runs(flow_id, 1, owner=ALICE, label="scan 1", tags=["beam"])
    response = await service.get(
        f"/runs/{run_id}", headers=bearer(fake.issue_token(identity_id=ALICE))
    )
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    assert document.pop("start_time") is not None
    assert document == {
        "run_id": run_id,
        "flow_id": flow_id,
        "flow_title": "Ten Seconds",
        "status": "ACTIVE",
        "label": "scan 1",
        "tags": ["beam"],
        "completion_time": None,
    }


async def test_another_users_run_is_404(
    fake: FakeGlobus, flow_id: str, service: httpx.AsyncClient
) -> None:
    [run_id] = fake.add_runs(flow_id, 1, owner=ALICE)
    response = await service.get(
        f"/runs/{run_id}", headers=bearer(fake.issue_token(identity_id=BOB))
    )
    assert response.status_code == 404
    assert response.json()["error"] == "NOT_FOUND"


async def test_starting_a_run_of_an_unknown_flow_is_404(
    fake: FakeGlobus, service: httpx.AsyncClient
) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    response = await service.post(
        "/runs", json={"flow_id": unknown, "body": {}}, headers=bearer(fake.token)
    )
    assert (response.status_code, response.json()["error"]) == (404, "NOT_FOUND")


async def test_a_request_without_a_token_is_401_and_reaches_no_globus_service(
    fake: FakeGlobus, service: httpx.AsyncClient
) -> None:
    response = await service.get("/runs")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert fake.requests == []


async def test_a_token_globus_rejects_is_401(fake: FakeGlobus, service: httpx.AsyncClient) -> None:
    response = await service.get("/runs", headers=bearer("not-a-token"))
    assert response.status_code == 401
    assert response.json() == {
        "error": "AUTHENTICATION_ERROR",
        "message": "Expired or invalid Bearer token",
    }
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_token_for_another_resource_server_is_403(
    fake: FakeGlobus, flow_id: str, service: httpx.AsyncClient
) -> None:
    token = fake.issue_token(identity_id=ALICE, resource_servers={flow_id})
    response = await service.get("/runs", headers=bearer(token))
    assert (response.status_code, response.json()["error"]) == (403, "MISSING_SCOPE")


async def test_my_runs_come_a_page_at_a_time(
    fake: FakeGlobus, flow_id: str, service: httpx.AsyncClient
) -> None:
    run_ids = fake.add_runs(flow_id, 3, owner=ALICE)
    headers = bearer(fake.issue_token(identity_id=ALICE))
    first = (await service.get("/runs", params={"per_page": 2}, headers=headers)).json()
    assert len(first["runs"]) == 2
    assert first["marker"]
    second = (
        await service.get("/runs", params={"marker": first["marker"]}, headers=headers)
    ).json()
    assert second["marker"] is None
    assert {run["run_id"] for run in first["runs"] + second["runs"]} == set(run_ids)


async def test_the_shared_http_client_is_closed_with_the_app(fake: FakeGlobus) -> None:
    app = create_app(
        Settings(flows_url=fake.flows_url), transport=httpx.ASGITransport(app=fake.app)
    )
    async with app.router.lifespan_context(app):
        shared: httpx.AsyncClient = app.state.http_client
        assert not shared.is_closed
    assert shared.is_closed


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLOBUS_RUNS_FLOWS_URL", "http://127.0.0.1:8000/flows/")
    monkeypatch.setenv("GLOBUS_RUNS_ENVIRONMENT", "sandbox")
    assert Settings.from_env() == Settings("http://127.0.0.1:8000/flows/", "sandbox")
