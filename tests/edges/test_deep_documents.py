"""A run whose details nest 1,000 levels prints and raises without a RecursionError."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from globus_runs import (
    BatchResult,
    FlowsClient,
    RetryPolicy,
    Run,
    RunInactiveError,
    RunStatusEvent,
)

pytestmark = pytest.mark.anyio

RUN_ID = "36ad9f9a-ad29-488f-beb4-c22ab729643a"
FLOW_ID = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
DEPTH = 1000
DEEP = '{"details":' * DEPTH + '{"leaf":1}' + "}" * DEPTH
RUN = (
    f'{{"run_id":"{RUN_ID}","flow_id":"{FLOW_ID}","status":"INACTIVE",'
    f'"start_time":"2026-03-01T12:00:00+00:00",'
    f'"details":{{"code":"ConsentRequired","details":{DEEP}}}}}'
)


def answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, text=RUN, headers={"content-type": "application/json"})


@pytest.fixture
async def flows() -> AsyncIterator[FlowsClient]:
    async with FlowsClient(
        authorizer="t",
        base_url="https://flows.example.org",
        transport=httpx.MockTransport(answer),
        retry=RetryPolicy.disabled(),
    ) as client:
        yield client


def depth_of(details: object) -> int:
    depth = 0
    while isinstance(details, dict) and "details" in details:
        details = details["details"]
        depth += 1
    return depth


async def test_a_deeply_nested_run_has_a_repr_and_a_str(flows: FlowsClient) -> None:
    run = await flows.get_run(RUN_ID)
    assert depth_of(run.details) == DEPTH + 1  # kept whole: only its printing is cut
    text = repr(run)
    assert text == str(run)
    assert text.startswith(f"Run(run_id='{RUN_ID}', flow_id='{FLOW_ID}', status='INACTIVE'")
    assert "details={'code': 'ConsentRequired', 'details': {'details': {" in text
    assert "{...}" in text
    assert len(text) < 2000


async def test_waiting_on_it_raises_run_inactive_error_with_its_code(flows: FlowsClient) -> None:
    with pytest.raises(RunInactiveError) as info:
        await flows.wait_for_run(RUN_ID, on_inactive="raise")
    assert str(info.value) == f"run {RUN_ID} is INACTIVE (ConsentRequired)"
    assert repr(info.value) == f"RunInactiveError('run {RUN_ID} is INACTIVE (ConsentRequired)')"
    assert depth_of(info.value.run.details) == DEPTH + 1
    assert "{...}" in repr(info.value.run)


async def test_watch_and_batch_results_holding_it_have_a_repr(flows: FlowsClient) -> None:
    watcher = flows.watch_run(RUN_ID, include_logs=False)
    event = await watcher.__anext__()
    assert isinstance(event, RunStatusEvent)
    assert repr(event).startswith(f"RunStatusEvent(run=Run(run_id='{RUN_ID}'")
    [result] = await flows.batch_get_runs([RUN_ID])
    assert isinstance(result, BatchResult)
    assert isinstance(result.value, Run)
    assert repr(result).startswith(f"BatchResult(index=0, input='{RUN_ID}', value=Run(")


async def test_an_inactive_run_whose_code_is_not_text_is_named_without_it() -> None:
    nested_code = '{"code":' + DEEP + "}"
    text = RUN.replace('{"code":"ConsentRequired","details":' + DEEP + "}", nested_code)

    def odd(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=text, headers={"content-type": "application/json"})

    async with FlowsClient(
        authorizer="t",
        base_url="https://flows.example.org",
        transport=httpx.MockTransport(odd),
        retry=RetryPolicy.disabled(),
    ) as flows:
        with pytest.raises(RunInactiveError) as info:
            await flows.wait_for_run(RUN_ID, on_inactive="raise")
    assert str(info.value) == f"run {RUN_ID} is INACTIVE"
