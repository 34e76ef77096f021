"""No ``ExceptionGroup`` reaches a caller of a batch, stream or wait, whatever fails."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import anyio
import pytest

from globus_runs import (
    FlowsClient,
    GlobusRunsError,
    RetryPolicy,
    RunNotFoundError,
    RunRequest,
)
from globus_runs.testing import FakeGlobus

pytestmark = pytest.mark.anyio

MISSING = [f"00000000-0000-4000-8000-{n:012d}" for n in range(12)]


class InputBroke(Exception):
    """Raised by a caller's input iterable."""


class CallerBroke(Exception):
    """Raised by the caller's own code inside a stream's block."""


def breaking(items: list[Any], after: int) -> Iterator[Any]:
    """Yield ``after`` items of ``items``, then raise :class:`InputBroke`."""
    yield from items[:after]
    raise InputBroke("the input file is corrupt")


async def caught(call: Awaitable[object]) -> BaseException | None:
    """What ``call`` raised, if anything (cancellation aside)."""
    try:
        await call
    except Exception as exc:
        return exc
    return None


@pytest.fixture
async def flows(fake: FakeGlobus, quick: RetryPolicy) -> AsyncIterator[FlowsClient]:
    async with fake.flows_client(retry=quick, concurrency=4) as client:
        yield client


MISSING_FLOW = "00000000-0000-4000-8000-0000000000ff"
STARTS = [RunRequest(MISSING_FLOW, {"n": n}) for n in range(12)]


def _batches(flows: FlowsClient) -> dict[str, tuple[Callable[[Any], Awaitable[Any]], list[Any]]]:
    """Each batch method, with inputs that all fail (missing runs, a missing flow)."""
    return {
        "batch_get_runs": (flows.batch_get_runs, MISSING),
        "batch_cancel_runs": (flows.batch_cancel_runs, MISSING),
        "batch_run_flows": (flows.batch_run_flows, STARTS),
    }


def _streams(flows: FlowsClient) -> dict[str, tuple[Callable[[Any], Any], list[Any]]]:
    """Each streaming batch method, with inputs that all fail."""
    return {
        "stream_get_runs": (flows.stream_get_runs, MISSING),
        "stream_cancel_runs": (flows.stream_cancel_runs, MISSING),
        "stream_run_flows": (flows.stream_run_flows, STARTS),
    }


BATCHES = ["batch_get_runs", "batch_cancel_runs", "batch_run_flows"]
STREAMS = ["stream_get_runs", "stream_cancel_runs", "stream_run_flows"]


@pytest.mark.parametrize("name", BATCHES)
async def test_a_batch_whose_every_item_fails_returns_every_error(
    flows: FlowsClient, name: str
) -> None:
    batch, items = _batches(flows)[name]
    results = await batch(items)
    assert [r.index for r in results] == list(range(len(items)))
    assert all(isinstance(r.error, GlobusRunsError) for r in results)


@pytest.mark.parametrize("name", BATCHES)
async def test_a_batch_whose_input_raises_raises_that_error_alone(
    flows: FlowsClient, name: str
) -> None:
    batch, items = _batches(flows)[name]
    error = await caught(batch(breaking(items, 3)))
    assert isinstance(error, InputBroke)


@pytest.mark.parametrize("name", STREAMS)
async def test_a_stream_whose_every_item_fails_yields_every_error(
    flows: FlowsClient, name: str
) -> None:
    stream, items = _streams(flows)[name]
    async with stream(items) as results:
        seen = [result async for result in results]
    assert sorted(r.index for r in seen) == list(range(len(items)))
    assert all(isinstance(r.error, GlobusRunsError) for r in seen)


@pytest.mark.parametrize("name", STREAMS)
async def test_a_stream_whose_input_raises_ends_with_one_typed_error(
    flows: FlowsClient, name: str
) -> None:
    stream, items = _streams(flows)[name]

    async def consume() -> None:
        async with stream(breaking(items, 3)) as results:
            async for _ in results:
                pass

    error = await caught(consume())
    assert isinstance(error, GlobusRunsError)
    assert isinstance(error.__cause__, InputBroke)


@pytest.mark.parametrize("name", STREAMS)
async def test_an_error_in_the_callers_block_comes_out_unwrapped(
    flows: FlowsClient, name: str
) -> None:
    stream, items = _streams(flows)[name]

    async def consume() -> None:
        async with stream(items) as results:
            async for _ in results:
                raise CallerBroke("the caller's own bug")

    error = await caught(consume())
    assert isinstance(error, CallerBroke)


@pytest.mark.parametrize("name", STREAMS)
async def test_an_error_in_the_callers_block_before_reading_comes_out_unwrapped(
    flows: FlowsClient, name: str
) -> None:
    stream, items = _streams(flows)[name]

    async def consume() -> None:
        async with stream(items):
            await anyio.sleep(0.01)  # let the workers fail a few items first
            raise CallerBroke("the caller's own bug")

    error = await caught(consume())
    assert isinstance(error, CallerBroke)


async def test_waiting_for_runs_that_do_not_exist_raises_one_typed_error(
    flows: FlowsClient,
) -> None:
    error = await caught(flows.wait_for_runs(MISSING, poll_interval=0.01, timeout=5))
    assert isinstance(error, RunNotFoundError)


async def test_waiting_for_runs_from_a_raising_input_raises_that_error_alone(
    flows: FlowsClient, fake: FakeGlobus, flow_id: str
) -> None:
    run_ids = fake.add_runs(flow_id, 3)
    error = await caught(flows.wait_for_runs(breaking(run_ids, 2), poll_interval=0.01))
    assert isinstance(error, InputBroke)


async def test_waiting_for_one_run_that_does_not_exist_raises_one_typed_error(
    flows: FlowsClient,
) -> None:
    error = await caught(flows.wait_for_run(MISSING[0], poll_interval=0.01, timeout=5))
    assert isinstance(error, RunNotFoundError)


async def test_an_error_in_the_callers_loop_over_watch_run_comes_out_unwrapped(
    flows: FlowsClient, fake: FakeGlobus, flow_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)

    async def consume() -> None:
        async for _ in flows.watch_run(run_id, poll_interval=0.01):
            raise CallerBroke("the caller's own bug")

    error = await caught(consume())
    assert isinstance(error, CallerBroke)


async def test_every_item_failing_under_a_deadline_ends_in_a_plain_timeout(
    fake: FakeGlobus, flow_id: str
) -> None:
    fake.faults.add("slow", delay=5.0)
    run_ids = fake.add_runs(flow_id, 8)
    async with fake.flows_client(concurrency=4) as flows:
        with pytest.raises(TimeoutError), anyio.fail_after(0.2):
            await flows.batch_get_runs(run_ids)
