"""The batch engine: many operations, bounded concurrency, one result per input.

A fixed set of workers pulls items from the input lazily, so memory follows the concurrency,
not the input size. A failing item becomes a :class:`BatchResult` with ``error`` set; nothing
but cancellation escapes, so callers never see an ``ExceptionGroup``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

import anyio
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from ._errors import ConfigurationError, InvalidRequestError, RateLimitError
from ._models import BatchResult
from ._retry import rate_limit_listener
from ._telemetry import parent_span

__all__ = ["BatchStream", "Throttle", "effective_concurrency", "run_batch", "stream_batch"]

I = TypeVar("I")  # noqa: E741
T = TypeVar("T")


def effective_concurrency(requested: int | None, default: int, pool_size: int | None) -> int:
    """The number of requests a batch may have in flight.

    Never more than the connection pool holds: requests beyond it would wait inside the pool
    (and time out there), and a cancelled wait can leak a pool slot.
    """
    value = default if requested is None else requested
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigurationError("concurrency must be a positive int")
    return min(value, pool_size) if pool_size is not None else value


class Throttle:
    """The concurrency a batch may use right now, lowered and paused by rate limiting.

    A 429 seen by any worker pauses every worker for the time the service asked (no new
    request starts before it) and halves the allowed concurrency (once per pause); each run
    of ``limit`` successful operations afterwards raises it by one, up to the maximum.
    """

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.limit = maximum
        self.active = 0
        self.resume_at = 0.0
        self.pauses = 0
        self._successes = 0
        self._changed = anyio.Event()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def acquire(self) -> None:
        """Wait for a slot; raise :class:`RateLimitError` if the pause outlasts the deadline."""
        while True:
            wait = self.resume_at - anyio.current_time()
            if wait > 0:
                if self.resume_at >= anyio.current_effective_deadline():
                    # Sleeping past the caller's deadline would only end in a cancellation.
                    raise RateLimitError(
                        429,
                        "RATE_LIMITED",
                        f"rate limited for {wait:.2f}s more, past the caller's deadline",
                        retry_after=wait,
                    )
                await anyio.sleep(wait)
                continue
            if self.active < self.limit:
                self.active += 1
                return
            await self._changed.wait()

    def release(self, ok: bool) -> None:
        self.active -= 1
        if ok and self.limit < self.maximum:
            self._successes += 1
            if self._successes >= self.limit:
                self._successes = 0
                self.limit += 1
        self._notify()

    def rate_limited(self, delay: float) -> None:
        """A request was answered 429: pause everyone for ``delay`` seconds, slow down."""
        now = anyio.current_time()
        if now >= self.resume_at:
            # The first 429 of a burst halves the concurrency; the rest only extend the pause.
            self.limit = max(1, self.limit // 2)
            self._successes = 0
            self.pauses += 1
        self.resume_at = max(self.resume_at, now + delay)
        self._notify()


async def _attempt(
    index: int, item: I, operation: Callable[[I], Awaitable[T]], throttle: Throttle
) -> BatchResult[T]:
    try:
        await throttle.acquire()
    except RateLimitError as exc:
        return BatchResult(index=index, input=item, error=exc)
    try:
        value = await operation(item)
    except Exception as exc:  # one item's failure is its record, never the batch's
        throttle.release(ok=False)
        return BatchResult(index=index, input=item, error=exc)
    throttle.release(ok=True)
    return BatchResult(index=index, input=item, value=value)


async def run_batch(
    items: Iterable[I], operation: Callable[[I], Awaitable[T]], *, concurrency: int
) -> list[BatchResult[T]]:
    """Apply ``operation`` to every item, at most ``concurrency`` at a time, in input order."""
    inputs = list(items)
    results: list[BatchResult[T] | None] = [None] * len(inputs)
    numbered = enumerate(inputs)

    throttle = Throttle(concurrency)

    async def worker() -> None:
        rate_limit_listener.set(throttle.rate_limited)
        for index, item in numbered:
            results[index] = await _attempt(index, item, operation, throttle)

    with parent_span("globus_runs.batch", _span_attributes(operation, concurrency, len(inputs))):
        async with anyio.create_task_group() as tg:
            for _ in range(min(concurrency, len(inputs))):
                tg.start_soon(worker)
    return [result for result in results if result is not None]


def _span_attributes(
    operation: Callable[..., object], concurrency: int, size: int | None = None
) -> dict[str, object]:
    attributes: dict[str, object] = {
        "globus_runs.batch.operation": getattr(operation, "__name__", "operation").strip("_"),
        "globus_runs.batch.concurrency": concurrency,
    }
    if size is not None:
        attributes["globus_runs.batch.size"] = size
    return attributes


class BatchStream(Generic[T]):
    """Results of a streaming batch, in completion order (``result.index`` gives input order)."""

    def __init__(self, receive: ObjectReceiveStream[BatchResult[T]]) -> None:
        self._receive = receive

    def __aiter__(self) -> BatchStream[T]:
        return self

    async def __anext__(self) -> BatchResult[T]:
        try:
            return await self._receive.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None


class _Feed(Generic[I]):
    """Numbered items read lazily by several workers; an error reading them stops the feed."""

    def __init__(self, items: Iterable[I]) -> None:
        self._numbered: Iterator[tuple[int, I]] = enumerate(items)
        self.error: Exception | None = None

    def __iter__(self) -> _Feed[I]:
        return self

    def __next__(self) -> tuple[int, I]:
        if self.error is not None:
            raise StopIteration
        try:
            return next(self._numbered)
        except StopIteration:
            raise
        except Exception as exc:
            self.error = exc
            raise StopIteration from None


@asynccontextmanager
async def stream_batch(
    items: Iterable[I], operation: Callable[[I], Awaitable[T]], *, concurrency: int
) -> AsyncIterator[BatchStream[T]]:
    """Apply ``operation`` to items read lazily, yielding results as they complete.

    Leaving the ``async with`` block early cancels the work still in flight. An error raised
    while reading ``items`` ends the stream and is raised as :class:`InvalidRequestError`.
    """
    send, receive = anyio.create_memory_object_stream[BatchResult[T]](concurrency)
    feed = _Feed(items)

    throttle = Throttle(concurrency)

    async def worker(out: ObjectSendStream[BatchResult[T]]) -> None:
        rate_limit_listener.set(throttle.rate_limited)
        async with out:
            for index, item in feed:
                await out.send(await _attempt(index, item, operation, throttle))

    try:
        with parent_span("globus_runs.batch", _span_attributes(operation, concurrency)):
            async with anyio.create_task_group() as tg, receive:
                async with send:
                    for _ in range(concurrency):
                        tg.start_soon(worker, send.clone())
                try:
                    yield BatchStream(receive)
                finally:
                    tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        # Workers never raise, so the only error is the caller's own: hand it back unwrapped.
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise  # pragma: no cover - more than one error cannot come from one caller block
    if feed.error is not None:
        raise InvalidRequestError(f"reading the batch's inputs failed: {feed.error}") from (
            feed.error
        )
