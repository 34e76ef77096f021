"""Injected faults over real sockets: the emulator served by uvicorn on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from globus_runs import (
    APITimeoutError,
    FlowsClient,
    NetworkError,
    RateLimitError,
    ResponseParseError,
    RetryPolicy,
)
from globus_runs._http import pool_errors
from globus_runs.testing import FakeGlobus, serve_in_thread

pytestmark = pytest.mark.anyio

RUN_ROUTE = "/flows/flows/*/run"


@pytest.fixture
def fake() -> FakeGlobus:
    return FakeGlobus()


@pytest.fixture
def flow_id(fake: FakeGlobus) -> str:
    return fake.add_flow(duration=10.0)


@pytest.fixture
def served(fake: FakeGlobus) -> Iterator[dict[str, Any]]:
    """``fake`` served from a background thread for one test."""
    with serve_in_thread(fake) as info:
        yield info


@pytest.fixture
async def flows(fake: FakeGlobus, served: dict[str, Any]) -> AsyncIterator[FlowsClient]:
    """A socket client of ``fake`` that never retries."""
    async with FlowsClient(
        authorizer=fake.token, base_url=served["flows_url"], retry=RetryPolicy.disabled()
    ) as client:
        yield client


async def test_429_reaches_the_client_with_its_retry_after(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    fake.faults.add("429", retry_after=3)
    with pytest.raises(RateLimitError) as caught:
        await flows.list_runs()
    assert caught.value.retry_after == 3.0


async def test_reset_before_drops_the_connection_and_starts_no_run(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    fake.faults.add("reset_before", route=RUN_ROUTE)
    with pytest.raises(NetworkError) as caught:
        await flows.run_flow(flow_id, {})
    assert isinstance(
        caught.value.__cause__, (httpx.RemoteProtocolError, pool_errors.RemoteProtocolError)
    )
    assert len(fake.runs) == 0


async def test_reset_after_drops_the_connection_after_starting_the_run(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    fake.faults.add("reset_after", route=RUN_ROUTE)
    with pytest.raises(NetworkError) as caught:
        await flows.run_flow(flow_id, {})
    assert isinstance(
        caught.value.__cause__, (httpx.RemoteProtocolError, pool_errors.RemoteProtocolError)
    )
    assert len(fake.runs) == 1


async def test_the_client_works_again_after_a_dropped_connection(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    fake.faults.add("reset_before", count=1)
    with pytest.raises(NetworkError):
        await flows.list_runs()
    run = await flows.run_flow(flow_id, {})
    assert run.run_id in fake.runs


async def test_a_dropped_connection_sends_a_head_but_no_body(
    fake: FakeGlobus, served: dict[str, Any]
) -> None:
    fake.faults.add("reset_before")
    async with httpx.AsyncClient(base_url=served["flows_url"]) as client:
        with pytest.raises(httpx.RemoteProtocolError, match="complete message body"):
            await client.get("runs")


async def test_truncated_answers_arrive_whole_but_are_not_json(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    fake.faults.add("truncated", route=RUN_ROUTE)
    with pytest.raises(ResponseParseError) as caught:
        await flows.run_flow(flow_id, {})
    assert caught.value.text.startswith('{"run_id":')
    assert len(fake.runs) == 1


async def test_slow_answers_outlast_the_socket_read_timeout(
    fake: FakeGlobus, served: dict[str, Any]
) -> None:
    fake.faults.add("slow", delay=5.0)
    async with FlowsClient(
        authorizer=fake.token,
        base_url=served["flows_url"],
        retry=RetryPolicy.disabled(),
        timeout=1.0,  # far above a connection's set-up on a busy machine, far below the delay
    ) as flows:
        with pytest.raises(APITimeoutError):
            await flows.list_runs()
