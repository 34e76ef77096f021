"""Fault injection (``fake.faults``) seen through the in-process client."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from globus_runs import (
    APITimeoutError,
    FlowsClient,
    NetworkError,
    RateLimitError,
    ResponseParseError,
    RetryPolicy,
    ServerError,
)
from globus_runs.testing import FakeGlobus, Fault, asgi_transport

pytestmark = pytest.mark.anyio

RUN_ROUTE = "/flows/flows/*/run"
# A client that gives up after PATIENCE seconds on an answer SLOW seconds late: both far
# from what an answer takes on a busy machine, so only the fault makes the client give up.
PATIENCE = 1.0
SLOW = 5.0


@pytest.fixture
async def flows(fake: FakeGlobus) -> AsyncIterator[FlowsClient]:
    """A client of the fake that never retries."""
    async with fake.flows_client(retry=RetryPolicy.disabled()) as client:
        yield client


@pytest.fixture
def run_id(fake: FakeGlobus, flow_id: str) -> str:
    """An ACTIVE run of ``flow_id``."""
    [run] = fake.add_runs(flow_id, 1)
    return run


# -- each kind, as the client sees it ----------------------------------------------------


async def test_429_raises_rate_limit_error_with_the_retry_after_given(
    fake: FakeGlobus, flows: FlowsClient, run_id: str
) -> None:
    fake.faults.add("429", retry_after=2)
    with pytest.raises(RateLimitError) as caught:
        await flows.get_run(run_id)
    assert caught.value.retry_after == 2.0


async def test_429_can_give_retry_after_as_an_http_date(
    fake: FakeGlobus, flows: FlowsClient, run_id: str
) -> None:
    fake.faults.add("429", retry_after=30, retry_after_http_date=True)
    with pytest.raises(RateLimitError) as caught:
        await flows.get_run(run_id)
    assert caught.value.retry_after is not None
    assert 28.0 <= caught.value.retry_after <= 31.0


async def test_429_without_retry_after_sends_no_header(
    fake: FakeGlobus, flows: FlowsClient, run_id: str
) -> None:
    fake.faults.add("429", retry_after=None)
    with pytest.raises(RateLimitError) as caught:
        await flows.get_run(run_id)
    assert caught.value.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_raises_server_error_with_a_flows_shaped_body(
    fake: FakeGlobus, flows: FlowsClient, run_id: str, status: int
) -> None:
    fake.faults.add(str(status))  # type: ignore[arg-type]
    with pytest.raises(ServerError) as caught:
        await flows.get_run(run_id)
    error = caught.value
    assert error.http_status == status
    assert error.code != "SERVER_ERROR"  # the code came from the body
    assert error.request_id  # Flows' debug_id


async def test_5xx_does_not_start_the_run(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    fake.faults.add("504", route=RUN_ROUTE)
    with pytest.raises(ServerError):
        await flows.run_flow(flow_id, {})
    assert len(fake.runs) == 0


async def test_processed_5xx_starts_the_run_before_answering_the_error(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    fake.faults.add("504", route=RUN_ROUTE, processed=True)
    with pytest.raises(ServerError):
        await flows.run_flow(flow_id, {})
    assert len(fake.runs) == 1


async def test_html_raises_server_error_from_the_proxy_page(
    fake: FakeGlobus, flows: FlowsClient, run_id: str
) -> None:
    fake.faults.add("html")
    with pytest.raises(ServerError) as caught:
        await flows.get_run(run_id)
    assert caught.value.http_status == 502
    assert "<" not in caught.value.message
    assert caught.value.body.startswith("<!DOCTYPE html>")


async def test_html_takes_another_status(fake: FakeGlobus, flows: FlowsClient, run_id: str) -> None:
    fake.faults.add("html", status=503)
    with pytest.raises(ServerError) as caught:
        await flows.get_run(run_id)
    assert caught.value.http_status == 503


async def test_reset_before_raises_network_error_and_starts_no_run(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    fake.faults.add("reset_before", route=RUN_ROUTE)
    with pytest.raises(NetworkError) as caught:
        await flows.run_flow(flow_id, {})
    assert not isinstance(caught.value, APITimeoutError)
    assert len(fake.runs) == 0


async def test_reset_after_raises_network_error_but_starts_the_run(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    fake.faults.add("reset_after", route=RUN_ROUTE)
    with pytest.raises(NetworkError):
        await flows.run_flow(flow_id, {"n": 1})
    [run] = fake.runs.values()
    assert (run.flow.flow_id, run.body) == (flow_id, {"n": 1})


async def test_slow_answers_past_the_read_timeout_raise_api_timeout_error(
    fake: FakeGlobus, run_id: str
) -> None:
    fake.faults.add("slow", delay=SLOW)
    async with fake.flows_client(retry=RetryPolicy.disabled(), timeout=PATIENCE) as flows:
        with pytest.raises(APITimeoutError):
            await flows.get_run(run_id)


async def test_slow_answers_arrive_when_the_client_waits(
    fake: FakeGlobus, flows: FlowsClient, run_id: str
) -> None:
    fake.faults.add("slow", delay=0.05)
    run = await flows.get_run(run_id)
    assert run.run_id == run_id


async def test_slow_run_start_is_handled_although_the_client_gave_up(
    fake: FakeGlobus, flow_id: str
) -> None:
    fake.faults.add("slow", route=RUN_ROUTE, delay=SLOW)
    async with fake.flows_client(retry=RetryPolicy.disabled(), timeout=PATIENCE) as flows:
        with pytest.raises(APITimeoutError):
            await flows.run_flow(flow_id, {})
    assert len(fake.runs) == 1


async def test_malformed_answers_raise_response_parse_error(
    fake: FakeGlobus, flows: FlowsClient, run_id: str
) -> None:
    fake.faults.add("malformed")
    with pytest.raises(ResponseParseError) as caught:
        await flows.get_run(run_id)
    assert caught.value.text == '{"unexpected": true}'


async def test_malformed_answers_can_be_any_json_value(
    fake: FakeGlobus, flows: FlowsClient, run_id: str
) -> None:
    fake.faults.add("malformed", body=[1, 2])
    with pytest.raises(ResponseParseError) as caught:
        await flows.get_run(run_id)
    assert caught.value.text == "[1, 2]"


async def test_truncated_answers_raise_response_parse_error_with_half_the_body(
    fake: FakeGlobus, flows: FlowsClient, run_id: str
) -> None:
    fake.faults.add("truncated")
    with pytest.raises(ResponseParseError) as caught:
        await flows.get_run(run_id)
    text = caught.value.text
    assert text.startswith(f'{{"run_id":"{run_id}"')
    assert not text.rstrip().endswith("}")


async def test_truncated_run_start_still_starts_the_run(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    fake.faults.add("truncated", route=RUN_ROUTE)
    with pytest.raises(ResponseParseError):
        await flows.run_flow(flow_id, {})
    assert len(fake.runs) == 1


# -- the record of faults ----------------------------------------------------------------


async def test_requests_record_the_fault_injected(
    fake: FakeGlobus, flows: FlowsClient, run_id: str
) -> None:
    fake.faults.add("503", count=1)
    with pytest.raises(ServerError):
        await flows.get_run(run_id)
    await flows.get_run(run_id)
    assert [(r.fault, r.status_code) for r in fake.requests] == [("503", 503), (None, 200)]


async def test_dropped_connections_are_recorded_without_a_status(
    fake: FakeGlobus, flows: FlowsClient, run_id: str
) -> None:
    fake.faults.add("reset_after")
    with pytest.raises(NetworkError):
        await flows.get_run(run_id)
    [record] = fake.requests
    assert (record.fault, record.status_code) == ("reset_after", None)


async def test_fired_and_stats_count_the_faults_injected(
    fake: FakeGlobus, flows: FlowsClient, run_id: str
) -> None:
    limit = fake.faults.add("429", count=1)
    broken = fake.faults.add("500", count=2)
    for _ in range(4):
        with contextlib.suppress(RateLimitError, ServerError):
            await flows.get_run(run_id)
    assert (limit.fired, broken.fired) == (1, 2)
    assert fake.faults.stats == {"429": 1, "500": 2}
    assert fake.faults.fired == 3


# -- which requests a rule hits ----------------------------------------------------------


async def test_a_route_glob_star_stays_within_one_path_segment(
    fake: FakeGlobus, flows: FlowsClient, run_id: str
) -> None:
    fake.faults.add("503", route="/flows/runs/*")
    await flows.list_runs()
    await flows.get_run_logs(run_id)
    with pytest.raises(ServerError):
        await flows.get_run(run_id)


async def test_a_route_glob_double_star_crosses_segments(
    fake: FakeGlobus, flows: FlowsClient, run_id: str
) -> None:
    fake.faults.add("503", route="/flows/runs/**")
    with pytest.raises(ServerError):
        await flows.get_run_logs(run_id)


async def test_a_rule_limited_to_a_method_spares_the_others(
    fake: FakeGlobus, flows: FlowsClient, run_id: str
) -> None:
    fake.faults.add("503", method="post")
    await flows.get_run(run_id)
    with pytest.raises(ServerError):
        await flows.cancel_run(run_id)


async def test_count_limits_how_often_a_rule_fires(
    fake: FakeGlobus, flows: FlowsClient, run_id: str
) -> None:
    fake.faults.add("503", count=2)
    for _ in range(2):
        with pytest.raises(ServerError):
            await flows.get_run(run_id)
    await flows.get_run(run_id)


async def test_probability_zero_never_fires(
    fake: FakeGlobus, flows: FlowsClient, run_id: str
) -> None:
    rule = fake.faults.add("503", probability=0.0)
    for _ in range(5):
        await flows.get_run(run_id)
    assert rule.fired == 0


async def test_rules_are_tried_in_the_order_added(
    fake: FakeGlobus, flows: FlowsClient, run_id: str
) -> None:
    fake.faults.add("429", count=1)
    fake.faults.add("500")
    with pytest.raises(RateLimitError):
        await flows.get_run(run_id)
    with pytest.raises(ServerError):
        await flows.get_run(run_id)


async def test_clear_removes_every_rule_and_the_counters(
    fake: FakeGlobus, flows: FlowsClient, run_id: str
) -> None:
    fake.faults.add("503", count=1)
    with pytest.raises(ServerError):
        await flows.get_run(run_id)
    fake.faults.add("503")
    fake.faults.clear()
    await flows.get_run(run_id)
    assert (fake.faults.rules, fake.faults.fired) == ((), 0)


async def test_remove_stops_one_rule(fake: FakeGlobus, flows: FlowsClient, run_id: str) -> None:
    rule = fake.faults.add("503")
    fake.faults.remove(rule)
    await flows.get_run(run_id)


async def test_faults_hit_every_service_and_unknown_paths(fake: FakeGlobus) -> None:
    fake.faults.add("503")
    async with httpx.AsyncClient(
        transport=asgi_transport(fake.app), base_url="http://127.0.0.1"
    ) as client:
        statuses = [(await client.get(path)).status_code for path in ("/timers/jobs/", "/nowhere")]
    assert statuses == [503, 503]


async def test_a_client_that_retries_rides_out_a_rate_limit(fake: FakeGlobus, run_id: str) -> None:
    fake.faults.add("429", count=2, retry_after=0.01)
    async with fake.flows_client(retry=RetryPolicy(max_retries=3)) as flows:
        run = await flows.get_run(run_id)
    assert run.run_id == run_id
    assert [r.fault for r in fake.requests] == ["429", "429", None]


# -- seeded probabilities ----------------------------------------------------------------


async def _pattern(fake: FakeGlobus, run_id: str, seed: int) -> list[bool]:
    """Which of 30 requests a 50 % fault hit, with the rng seeded with ``seed``."""
    fake.faults.clear()
    fake.faults.seed(seed)
    fake.faults.add("503", probability=0.5)
    hits = []
    async with fake.flows_client(retry=RetryPolicy.disabled()) as flows:
        for _ in range(30):
            try:
                await flows.get_run(run_id)
            except ServerError:
                hits.append(True)
            else:
                hits.append(False)
    return hits


async def test_a_seeded_probability_fires_on_the_same_requests(
    fake: FakeGlobus, run_id: str
) -> None:
    first = await _pattern(fake, run_id, seed=7)
    second = await _pattern(fake, run_id, seed=7)
    assert first == second
    assert 0 < sum(first) < 30


async def test_another_seed_fires_on_other_requests(fake: FakeGlobus, run_id: str) -> None:
    assert await _pattern(fake, run_id, seed=7) != await _pattern(fake, run_id, seed=8)


# -- the in-process transport ------------------------------------------------------------


async def test_in_process_dropped_connections_are_httpx_read_errors(fake: FakeGlobus) -> None:
    fake.faults.add("reset_before")
    async with httpx.AsyncClient(
        transport=asgi_transport(fake.app), base_url="http://127.0.0.1"
    ) as client:
        with pytest.raises(httpx.ReadError):
            await client.get("/flows/runs")


async def test_in_process_answers_respect_the_read_timeout(fake: FakeGlobus) -> None:
    fake.faults.add("slow", delay=SLOW)
    async with httpx.AsyncClient(
        transport=asgi_transport(fake.app), base_url="http://127.0.0.1", timeout=PATIENCE
    ) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/flows/runs")


# -- the rules themselves ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "path", "hit"),
    [
        ("*", "/flows/runs/abc/log", True),
        ("/flows/runs/*", "/flows/runs/abc", True),
        ("/flows/runs/*", "/flows/runs", False),
        ("/flows/runs/*", "/flows/runs/abc/log", False),
        ("/flows/runs/**", "/flows/runs/abc/log", True),
        ("/flows/flows/*/run", "/flows/flows/f1/run", True),
        ("/flows/flows/*/run", "/flows/flows/f1/validate_run", False),
        ("/timers/**", "/timers/jobs/", True),
        ("/flows/runs.json", "/flows/runsXjson", False),
    ],
)
def test_route_globs(route: str, path: str, hit: bool) -> None:
    assert Fault(kind="500", route=route).matches("GET", path) is hit


def test_methods_match_whatever_their_case() -> None:
    fake = FakeGlobus()
    rule = fake.faults.add("500", method=["get", "DELETE"])
    assert [rule.matches(m, "/x") for m in ("GET", "delete", "POST")] == [True, True, False]


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("418", {}),
        ("500", {"probability": 1.5}),
        ("500", {"count": 0}),
        ("429", {"retry_after": -1}),
        ("slow", {}),
        ("500", {"delay": 1.0}),
        ("500", {"status": 503}),
        ("html", {"status": 200}),
        ("truncated", {"body": {}}),
        ("reset_before", {"processed": True}),
        ("500", {"route": "flows/runs"}),
        ("500", {"method": []}),
    ],
)
def test_add_refuses_meaningless_rules(kind: str, options: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        FakeGlobus().faults.add(kind, **options)  # type: ignore[arg-type]
