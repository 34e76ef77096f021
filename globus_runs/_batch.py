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

from ._errors import ConfigurationError, InvalidRequestError
from ._models import BatchResult

__all__ = ["BatchStream", "effective_concurrency", "run_batch", "stream_batch"]

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


async def _attempt(index: int, item: I, operation: Callable[[I], Awaitable[T]]) -> BatchResult[T]:
    try:
        value = await operation(item)
    except Exception as exc:  # one item's failure is its record, never the batch's
        return BatchResult(index=index, input=item, error=exc)
    return BatchResult(index=index, input=item, value=value)


async def run_batch(
    items: Iterable[I], operation: Callable[[I], Awaitable[T]], *, concurrency: int
) -> list[BatchResult[T]]:
    """Apply ``operation`` to every item, at most ``concurrency`` at a time, in input order."""
    inputs = list(items)
    results: list[BatchResult[T] | None] = [None] * len(inputs)
    numbered = enumerate(inputs)

    async def worker() -> None:
        for index, item in numbered:
            results[index] = await _attempt(index, item, operation)

    async with anyio.create_task_group() as tg:
        for _ in range(min(concurrency, len(inputs))):
            tg.start_soon(worker)
    return [result for result in results if result is not None]


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

    async def worker(out: ObjectSendStream[BatchResult[T]]) -> None:
        async with out:
            for index, item in feed:
                await out.send(await _attempt(index, item, operation))

    try:
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
