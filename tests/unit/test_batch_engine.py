"""The batch engine alone: order, per-item errors, bounds, streaming, cancellation."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest

from globus_runs import ConfigurationError, InvalidRequestError
from globus_runs._batch import Throttle, effective_concurrency, run_batch, stream_batch
from globus_runs._retry import rate_limit_listener


class _Probe:
    """An operation that records how many calls overlap."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0
        self.calls = 0

    async def __call__(self, item: int) -> int:
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await anyio.sleep(0.001 * (item % 3))
            if item % 5 == 0:
                raise ValueError(f"item {item} is bad")
            return item * 10
        finally:
            self.in_flight -= 1


@pytest.mark.anyio
async def test_results_are_in_input_order_with_per_item_errors() -> None:
    probe = _Probe()
    results = await run_batch(range(1, 31), probe, concurrency=4)
    assert [r.index for r in results] == list(range(30))
    assert [r.input for r in results] == list(range(1, 31))
    for result in results:
        if result.input % 5 == 0:
            assert not result.ok
            assert isinstance(result.error, ValueError)
            assert str(result.error) == f"item {result.input} is bad"
            with pytest.raises(ValueError, match="is bad"):
                result.unwrap()
        else:
            assert result.ok
            assert result.unwrap() == result.input * 10
    assert probe.peak == 4


@pytest.mark.anyio
async def test_empty_batch() -> None:
    assert await run_batch([], _Probe(), concurrency=4) == []


def test_concurrency_never_exceeds_the_pool() -> None:
    assert effective_concurrency(None, 10, None) == 10
    assert effective_concurrency(64, 10, 20) == 20
    assert effective_concurrency(8, 10, 20) == 8
    with pytest.raises(ConfigurationError):
        effective_concurrency(0, 10, None)


@pytest.mark.anyio
async def test_stream_reads_input_lazily_and_bounds_work_in_flight() -> None:
    read = 0

    def lazy() -> Iterator[int]:
        nonlocal read
        for item in range(1, 1001):
            read += 1
            yield item

    probe = _Probe()
    seen: list[int] = []
    async with stream_batch(lazy(), probe, concurrency=8) as results:
        async for result in results:
            seen.append(result.index)
            # Never more than the workers plus the buffer ahead of what was consumed.
            assert read <= len(seen) + 8 + 8 + 1
    assert sorted(seen) == list(range(1000))
    assert probe.peak <= 8


@pytest.mark.anyio
async def test_leaving_a_stream_early_cancels_the_rest() -> None:
    probe = _Probe()
    async with stream_batch(iter(range(1, 100_000)), probe, concurrency=4) as results:
        async for result in results:
            if result.index >= 10:
                break
    assert probe.in_flight == 0
    assert probe.calls < 100


@pytest.mark.anyio
async def test_an_error_in_the_callers_block_is_not_wrapped_in_a_group() -> None:
    with pytest.raises(KeyError, match="mine"):
        async with stream_batch(range(1, 100), _Probe(), concurrency=4) as results:
            async for _ in results:
                raise KeyError("mine")


@pytest.mark.anyio
async def test_a_failing_input_iterable_ends_the_stream_with_a_typed_error() -> None:
    def broken() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("disk gone")

    received: list[int] = []
    with pytest.raises(InvalidRequestError, match="disk gone"):
        async with stream_batch(broken(), _Probe(), concurrency=2) as results:
            async for result in results:
                received.append(result.input)
    assert sorted(received) == [1, 2]


@pytest.mark.anyio
async def test_cancelling_the_caller_cancels_the_batch_promptly() -> None:
    started = 0
    full = anyio.Event()

    async def slow(item: int) -> int:
        nonlocal started
        started += 1
        if started == 5:
            full.set()
        await anyio.sleep(3600)
        return item

    async def cancel_once_full(scope: anyio.CancelScope) -> None:
        await full.wait()
        scope.cancel()

    with anyio.fail_after(30), anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(cancel_once_full, scope)
            await run_batch(range(100), slow, concurrency=5)
    assert scope.cancelled_caught
    assert started == 5


@pytest.mark.anyio
async def test_a_rate_limit_pauses_every_worker_and_halves_the_concurrency() -> None:
    starts: list[tuple[int, float]] = []
    in_flight = 0
    peak_after_pause = 0
    paused_at: float | None = None

    async def operation(item: int) -> int:
        nonlocal in_flight, peak_after_pause, paused_at
        starts.append((item, anyio.current_time()))
        in_flight += 1
        if paused_at is not None:
            peak_after_pause = max(peak_after_pause, in_flight)
        try:
            if item == 3:
                listener = rate_limit_listener.get()
                assert listener is not None
                paused_at = anyio.current_time()
                listener(0.2)
            await anyio.sleep(0.01)
            return item
        finally:
            in_flight -= 1

    results = await run_batch(range(40), operation, concurrency=8)
    assert [r.unwrap() for r in results] == list(range(40))
    assert paused_at is not None
    # No request started during the pause (apart from the ones already in flight).
    started_during_pause = [i for i, t in starts if paused_at < t < paused_at + 0.19]
    assert started_during_pause == []
    assert peak_after_pause <= 8


@pytest.mark.anyio
async def test_throttle_recovers_gradually() -> None:
    throttle = Throttle(8)
    throttle.rate_limited(0.0)
    assert (throttle.limit, throttle.pauses) == (4, 1)
    for _ in range(4):
        await throttle.acquire()
        throttle.release(ok=True)
    assert throttle.limit == 5
    for _ in range(5 + 6 + 7):
        await throttle.acquire()
        throttle.release(ok=True)
    assert throttle.limit == 8
