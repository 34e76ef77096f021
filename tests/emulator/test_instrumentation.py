"""The request log, added latency and the count of requests in flight."""

from __future__ import annotations

import anyio
import httpx
import pytest

from globus_runs.testing import FakeGlobus

from ._support import START, ClientFactory

pytestmark = pytest.mark.anyio


async def test_every_request_is_recorded_with_its_details(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    await client.post(f"/flows/{flow_id}/run?x=1", json={"body": {"a": 1}})
    await client.get("/runs", params=[("filter_status", "ACTIVE"), ("x", "1"), ("x", "2")])
    post, get = fake.requests
    assert (post.service, post.method, post.path, post.status_code) == (
        "flows",
        "POST",
        f"/flows/{flow_id}/run",
        201,
    )
    assert post.json == {"body": {"a": 1}}
    assert post.body == b'{"body":{"a":1}}'
    assert post.headers["authorization"] == f"Bearer {fake.token}"
    assert post.headers["content-type"] == "application/json"
    assert post.time == START
    assert get.query == [("filter_status", "ACTIVE"), ("x", "1"), ("x", "2")]
    assert get.params == {"filter_status": "ACTIVE", "x": "2"}
    assert get.json is None


async def test_failing_requests_are_recorded_too(fake: FakeGlobus, connect: ClientFactory) -> None:
    async with connect(None) as client:
        await client.get("/runs/abc")
        await client.post("/runs/abc/cancel", content=b"not json")
    assert [(r.path, r.status_code) for r in fake.requests] == [
        ("/runs/abc", 401),
        ("/runs/abc/cancel", 401),
    ]
    assert fake.requests[1].json is None
    assert fake.requests[1].body == b"not json"


async def test_requests_outside_a_service_are_recorded_without_one(fake: FakeGlobus) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app), base_url="http://127.0.0.1"
    ) as client:
        response = await client.get("/nowhere")
    assert response.status_code == 404
    assert (fake.requests[0].service, fake.requests[0].path) == ("", "/nowhere")


async def test_clear_requests_forgets_them(client: httpx.AsyncClient, fake: FakeGlobus) -> None:
    await client.get("/runs")
    fake.clear_requests()
    assert fake.requests == []


async def test_latency_delays_answers_and_concurrency_is_counted(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    fake.latency = 0.2
    with anyio.fail_after(1.5):  # five sequential requests would take at least 1 s
        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(client.get, "/runs")
    assert fake.max_in_flight == 5
    assert fake.in_flight == 0
    fake.reset_stats()
    assert fake.max_in_flight == 0
    fake.latency = 0.0
    await client.get("/runs")
    assert fake.max_in_flight == 1


async def test_latency_is_slept_for_each_request(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    fake.latency = 0.1
    before = anyio.current_time()
    await client.get("/runs")
    assert anyio.current_time() - before >= 0.1
