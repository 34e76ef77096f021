"""Spans (OpenTelemetry's in-memory exporter) and request hooks for the library's traffic."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from globus_runs import (
    ConfigurationError,
    FlowsClient,
    NetworkError,
    RequestEvent,
    RetryPolicy,
    configure_telemetry,
)
from globus_runs.testing import FakeGlobus

from .conftest import client_for

pytestmark = pytest.mark.anyio


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    """Spans of this library, kept in memory; telemetry is back to its default afterwards."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    configure_telemetry(provider)
    yield memory
    configure_telemetry()
    provider.shutdown()


def http_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.kind == SpanKind.CLIENT]


def origin_of(flows: FlowsClient) -> tuple[str, int]:
    host_port = flows.base_url.split("//")[1].split("/")[0]
    host, _, port = host_port.partition(":")
    return host, int(port or 80)


async def test_each_request_is_a_client_span_with_the_http_attributes(
    fake: FakeGlobus, flows: FlowsClient, exporter: InMemorySpanExporter
) -> None:
    [run_id] = fake.add_runs(fake.add_flow(), 1)

    await flows.get_run(run_id)

    [span] = http_spans(exporter)
    host, port = origin_of(flows)
    assert span.name == "GET"
    assert dict(span.attributes or {}) == {
        "http.request.method": "GET",
        "url.full": f"{flows.base_url}/runs/{run_id}",
        "server.address": host,
        "server.port": port,
        "http.response.status_code": 200,
    }
    assert span.status.status_code == StatusCode.UNSET


async def test_a_retried_request_is_two_spans_and_the_second_counts_the_resend(
    fake: FakeGlobus, flows: FlowsClient, exporter: InMemorySpanExporter
) -> None:
    [run_id] = fake.add_runs(fake.add_flow(), 1)
    fake.faults.add("503", route=f"/flows/runs/{run_id}", count=1)

    await flows.get_run(run_id)

    first, second = http_spans(exporter)
    assert (first.attributes or {})["http.response.status_code"] == 503
    assert ((first.attributes or {})["error.type"], first.status.status_code) == (
        "503",
        StatusCode.ERROR,
    )
    assert "http.request.resend_count" not in (first.attributes or {})
    assert (second.attributes or {})["http.request.resend_count"] == 1
    assert (second.attributes or {})["http.response.status_code"] == 200


async def test_a_batch_is_the_parent_of_its_requests(
    fake: FakeGlobus, flows: FlowsClient, exporter: InMemorySpanExporter
) -> None:
    run_ids = fake.add_runs(fake.add_flow(), 3)

    await flows.batch_get_runs(run_ids, concurrency=2)

    [batch] = [s for s in exporter.get_finished_spans() if s.name == "globus_runs.batch"]
    assert dict(batch.attributes or {}) == {
        "globus_runs.batch.operation": "get",
        "globus_runs.batch.concurrency": 2,
        "globus_runs.batch.size": 3,
    }
    children = http_spans(exporter)
    assert len(children) == 3
    assert batch.context is not None
    assert {s.parent.span_id if s.parent else None for s in children} == {batch.context.span_id}


async def test_a_wait_is_the_parent_of_its_polls(
    fake: FakeGlobus, flows: FlowsClient, exporter: InMemorySpanExporter
) -> None:
    [run_id] = fake.add_runs(fake.add_flow(duration=0), 1)

    await flows.wait_for_run(run_id)

    [wait] = [s for s in exporter.get_finished_spans() if s.name == "globus_runs.wait_for_run"]
    [poll] = http_spans(exporter)
    assert (wait.attributes or {})["globus_runs.run_id"] == run_id
    assert wait.context is not None
    assert poll.parent is not None
    assert poll.parent.span_id == wait.context.span_id


async def test_an_exactly_once_start_is_the_parent_of_its_requests(
    fake: FakeGlobus, exporter: InMemorySpanExporter
) -> None:
    flow_id = fake.add_flow()
    retry = RetryPolicy(exactly_once_starts=True)

    async with client_for(fake, retry=retry) as flows:
        await flows.run_flow(flow_id, {})

    [start] = [s for s in exporter.get_finished_spans() if s.name.endswith("exactly_once")]
    [post] = http_spans(exporter)
    assert (start.attributes or {})["globus_runs.flow_id"] == flow_id
    assert start.context is not None
    assert post.parent is not None
    assert (post.name, post.parent.span_id) == ("POST", start.context.span_id)


async def test_no_span_holds_the_token(
    fake: FakeGlobus, flows: FlowsClient, exporter: InMemorySpanExporter
) -> None:
    run_ids = fake.add_runs(fake.add_flow(), 2)

    await flows.batch_get_runs(run_ids)
    await flows.update_runs(run_ids, add_tags=["t"])

    spans = exporter.get_finished_spans()
    assert len(spans) == 5
    for span in spans:
        assert fake.token not in repr(dict(span.attributes or {})) + span.name


def test_opentelemetry_is_not_imported_by_the_library() -> None:
    script = (
        "import sys, anyio\n"
        "from globus_runs.testing import FakeGlobus\n"
        "fake = FakeGlobus()\n"
        "[run_id] = fake.add_runs(fake.add_flow(), 1)\n"
        "async def main():\n"
        "    async with fake.flows_client() as flows:\n"
        "        await flows.get_run(run_id)\n"
        "anyio.run(main)\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"


async def test_request_hooks_see_every_attempt(fake: FakeGlobus, flows: FlowsClient) -> None:
    [run_id] = fake.add_runs(fake.add_flow(), 1)
    fake.faults.add("503", route=f"/flows/runs/{run_id}", count=1)
    seen: list[RequestEvent] = []
    awaited: list[int] = []

    async def async_hook(event: RequestEvent) -> None:
        awaited.append(event.attempt)

    flows.add_request_hook(seen.append)
    flows.add_request_hook(async_hook)
    await flows.get_run(run_id)

    url = f"{flows.base_url}/runs/{run_id}"
    assert [(e.method, e.url, e.attempt, e.status_code, e.error) for e in seen] == [
        ("GET", url, 1, 503, None),
        ("GET", url, 2, 200, None),
    ]
    assert all(e.duration >= 0 for e in seen)
    assert awaited == [1, 2]


async def test_a_failed_attempt_reaches_the_hooks_with_its_error(fake: FakeGlobus) -> None:
    [run_id] = fake.add_runs(fake.add_flow(), 1)
    fake.faults.add("reset_before", route=f"/flows/runs/{run_id}", count=1)
    seen: list[RequestEvent] = []

    async with client_for(fake, retry=RetryPolicy.disabled()) as flows:
        flows.add_request_hook(seen.append)
        with pytest.raises(NetworkError):
            await flows.get_run(run_id)

    [event] = seen
    assert event.status_code is None
    assert isinstance(event.error, NetworkError)


async def test_a_failing_hook_does_not_fail_the_request(
    fake: FakeGlobus, flows: FlowsClient, caplog: pytest.LogCaptureFixture
) -> None:
    [run_id] = fake.add_runs(fake.add_flow(), 1)

    def broken(event: RequestEvent) -> None:
        raise RuntimeError("hook bug")

    flows.add_request_hook(broken)
    run = await flows.get_run(run_id)

    assert run.run_id == run_id
    assert "request hook" in caplog.text


def test_a_non_provider_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="TracerProvider"):
        configure_telemetry(object())
