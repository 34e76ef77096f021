"""Any client, however odd its bodies, gets a clean 4xx; the emulator's memory stays bounded."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from starlette.types import Message

from globus_runs.testing import FakeGlobus, RecordedRequest, RequestLog, serve_in_thread

from ._support import error_of

# The nesting the emulator accepts, as the testing guide states it.
MAX_DEPTH = 64

pytestmark = pytest.mark.anyio


def nested(depth: int) -> bytes:
    """A JSON body of ``depth`` nested arrays inside ``{"body": ...}``."""
    return b'{"body": {"x": ' + b"[" * (depth - 2) + b"]" * (depth - 2) + b"}}"


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("path", "authenticated"),
    [
        ("/flows/flows/{flow_id}/run", True),
        ("/flows/flows/{flow_id}/validate_run", True),
        ("/flows/runs/{run_id}", False),
        ("/flows/web_inputs/{run_id}/respond", True),
        ("/flows/batch/runs", True),
        ("/timers/v2/timer", True),
        ("/nowhere", False),
    ],
)
async def test_a_deeply_nested_body_gets_a_4xx_on_any_path(
    fake: FakeGlobus, flow_id: str, path: str, authenticated: bool
) -> None:
    headers = {"Authorization": f"Bearer {fake.token}"} if authenticated else {}
    url = path.format(flow_id=flow_id, run_id="00000000-0000-4000-8000-000000000000")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app), base_url="http://127.0.0.1"
    ) as client:
        response = await client.post(url, content=DEEP, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    [record] = fake.requests
    assert (record.json, record.body, record.status_code) == (None, DEEP, response.status_code)


async def test_a_body_nested_too_deep_is_refused_with_the_flows_error(
    fake: FakeGlobus, flow_id: str
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app),
        base_url="http://127.0.0.1/flows",
        headers={"Authorization": f"Bearer {fake.token}"},
    ) as client:
        deepest = await client.post(f"/flows/{flow_id}/run", content=nested(MAX_DEPTH))
        too_deep = await client.post(f"/flows/{flow_id}/run", content=nested(MAX_DEPTH + 1))
    assert deepest.status_code == 201, deepest.text
    assert error_of(too_deep) == (400, "BAD_REQUEST")
    assert f"more than {MAX_DEPTH} levels" in too_deep.json()["error"]["detail"]


async def test_a_body_nested_too_deep_is_a_timers_validation_error(fake: FakeGlobus) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app),
        base_url="http://127.0.0.1/timers",
        headers={"Authorization": f"Bearer {fake.token}"},
    ) as client:
        response = await client.post("/v2/timer", content=DEEP)
    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert (item["loc"], item["type"]) == (["body"], "value_error.jsondecode")


async def test_a_deeply_nested_body_gets_a_4xx_over_loopback(fake: FakeGlobus) -> None:
    with serve_in_thread(fake) as info:
        async with httpx.AsyncClient() as client:
            response = await client.post(info["flows_url"] + "runs", content=DEEP)
    assert response.status_code == 405  # recorded, then routed: GET is the only method


# -- the body size limit ---------------------------------------------------------------------


async def test_a_body_over_the_limit_gets_413_in_the_flows_shape(flow_id: str) -> None:
    fake = FakeGlobus(max_body_size=1000)
    fake.add_flow(flow_id=flow_id)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app),
        base_url="http://127.0.0.1/flows",
        headers={"Authorization": f"Bearer {fake.token}"},
    ) as client:
        at_limit = json.dumps({"body": {"x": "a" * (1000 - 19)}}).encode()
        assert len(at_limit) == 1000
        accepted = await client.post(f"/flows/{flow_id}/run", content=at_limit)
        refused = await client.post(f"/flows/{flow_id}/run", content=at_limit + b" ")
    assert accepted.status_code == 201, accepted.text
    assert error_of(refused) == (413, "PAYLOAD_TOO_LARGE")
    assert "1000 bytes" in refused.json()["error"]["detail"]
    assert [(r.status_code, len(r.body)) for r in fake.requests] == [(201, 1000), (413, 0)]


async def test_a_streamed_body_over_the_limit_gets_413_in_the_timers_shape() -> None:
    fake = FakeGlobus(max_body_size=1000)
    chunks = [b" " * 200] * 10
    read = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < 10}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/timers/v2/timer",
        "query_string": b"",
        "headers": [(b"transfer-encoding", b"chunked")],
    }
    await fake.app(scope, receive, send)
    assert read == 6  # no chunk read past the limit
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"]["code"] == "PAYLOAD_TOO_LARGE"
    [record] = fake.requests
    assert (record.path, record.status_code, record.body) == ("/v2/timer", 413, b"")


async def test_a_body_over_the_limit_gets_413_over_loopback() -> None:
    fake = FakeGlobus(max_body_size=64 * 1024)
    with serve_in_thread(fake) as info:
        async with httpx.AsyncClient() as client:
            big = await client.post(info["flows_url"] + "runs", content=b"x" * (1024 * 1024))
            after = await client.get(info["flows_url"] + "runs")
    assert big.status_code == 413
    assert after.status_code == 401  # the server still answers


# -- the bounded request record ----------------------------------------------------------


def record(body: bytes = b"") -> RecordedRequest:
    return RecordedRequest(
        service="flows",
        method="GET",
        path="/runs",
        query=[],
        params={},
        headers={},
        json=None,
        body=body,
        time=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_the_request_log_keeps_the_latest_records() -> None:
    log = RequestLog(max_records=3, max_body_bytes=None)
    records = [record(str(i).encode()) for i in range(5)]
    for item in records:
        log.append(item)
    assert log == records[2:]
    assert (len(log), log.dropped, log[-1], log[:1]) == (3, 2, records[4], [records[2]])


def test_the_request_log_keeps_at_most_its_byte_budget_of_bodies() -> None:
    log = RequestLog(max_records=None, max_body_bytes=250)
    records = [record(b"x" * 100) for _ in range(4)]
    for item in records:
        log.append(item)
    assert log == records[2:]
    huge = record(b"y" * 1000)
    log.append(huge)
    assert log == [huge]  # the newest is kept, whatever its size
    log.clear()
    assert (list(log), log.dropped) == ([], 4)  # clearing is not dropping


def test_the_request_log_refuses_meaningless_bounds() -> None:
    with pytest.raises(ValueError, match="max_records"):
        RequestLog(max_records=0)
    with pytest.raises(ValueError, match="max_body_bytes"):
        RequestLog(max_body_bytes=-1)


async def test_the_emulator_records_only_its_configured_number_of_requests() -> None:
    fake = FakeGlobus(max_recorded_requests=5)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app), base_url="http://127.0.0.1/flows"
    ) as client:
        for index in range(12):
            await client.get("/runs", params={"n": str(index)})
    assert [r.params["n"] for r in fake.requests] == ["7", "8", "9", "10", "11"]
    assert fake.requests.dropped == 7


def test_the_fake_refuses_a_negative_body_limit() -> None:
    with pytest.raises(ValueError, match="max_body_size"):
        FakeGlobus(max_body_size=-1)
