"""The batch engine: many operations, bounded concurrency, one result per input.

A fixed set of workers pulls items from the input lazily, so memory follows the concurrency,
not the input size. A failing item becomes a :class:`BatchResult` with ``error`` set; nothing
but cancellation escapes, so callers never see an ``ExceptionGroup``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable, Iterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Generic, TypeVar

import anyio

from ._errors import (
    ConfigurationError,
    ConnectError,
    GlobusRunsError,
    InvalidRequestError,
    NotAttemptedError,
    RateLimitError,
)
from ._models import BatchResult
from ._retry import rate_limit_listener
from ._telemetry import parent_span

if TYPE_CHECKING:
    from anyio.abc import ObjectReceiveStream, ObjectSendStream

__all__ = [
    "BatchStream",
    "Stops",
    "Throttle",
    "effective_concurrency",
    "run_batch",
    "stream_batch",
]

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


class Stops(Generic[I]):
    """What earlier answers showed about the items not sent yet: which cannot succeed.

    ``keys(item)`` names what an item depends on (its flow, its resource server's scope, its
    token...); ``rule(item, error)`` says which of those an item's error shows to be broken
    for every item, and why, or ``None``. An item depending on a broken key is not sent.

    Whatever the rule, an item whose retries were spent on connections that could not be
    made (:class:`ConnectError`) shows the service unreachable: no other item is sent.
    """

    def __init__(
        self,
        keys: Callable[[I], Iterable[Hashable]],
        rule: Callable[[I, BaseException], tuple[Hashable, str] | None],
    ) -> None:
        self._keys = keys
        self._rule = rule
        self._broken: dict[Hashable, tuple[GlobusRunsError, str]] = {}
        self._unreachable: tuple[GlobusRunsError, str] | None = None

    @property
    def unreachable(self) -> GlobusRunsError | None:
        """The error that showed the service unreachable, once an item's did."""
        return self._unreachable[0] if self._unreachable is not None else None

    def refusal(self, item: I) -> NotAttemptedError | None:
        """The error of ``item`` if it must not be sent, else ``None``."""
        if self._unreachable is not None:
            return NotAttemptedError(*self._unreachable)
        if not self._broken:
            return None
        for key in self._keys(item):
            found = self._broken.get(key)
            if found is not None:
                return NotAttemptedError(*found)
        return None

    def learn(self, item: I, error: BaseException) -> None:
        """Take note of the error ``item`` was answered with."""
        if not isinstance(error, GlobusRunsError) or isinstance(error, NotAttemptedError):
            return
        if isinstance(error, ConnectError):
            if self._unreachable is None:
                reason = f"the service could not be reached ({error.attempts} attempt(s))"
                self._unreachable = (error, reason)
            return
        verdict = self._rule(item, error)
        if verdict is not None:
            key, reason = verdict
            self._broken.setdefault(key, (error, reason))


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    leaves: list[BaseException] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            leaves.extend(_leaves(exc))
        else:
            leaves.append(exc)
    return leaves


def _unwrapped(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one exception a batch's caller gets for its task group's failure.

    Workers never raise an ``Exception``; what escapes them is the process being stopped
    (``KeyboardInterrupt``, ``SystemExit``) or the caller's own error in a streaming block,
    each wanted bare. An interruption wins over anything raised alongside it.
    """
    leaves = _leaves(group)
    for leaf in leaves:
        if isinstance(leaf, KeyboardInterrupt | SystemExit):
            return leaf
    return leaves[0] if leaves else group


async def _attempt(
    index: int,
    item: I,
    operation: Callable[[I], Awaitable[T]],
    throttle: Throttle,
    stops: Stops[I] | None = None,
) -> BatchResult[T]:
    refused = stops.refusal(item) if stops is not None else None
    if refused is not None:
        return BatchResult(index=index, input=item, error=refused)
    try:
        await throttle.acquire()
    except RateLimitError as exc:
        return BatchResult(index=index, input=item, error=exc)
    # An answer that arrived while this item waited for a slot may rule it out too.
    refused = stops.refusal(item) if stops is not None else None
    if refused is not None:
        throttle.release(ok=False)
        return BatchResult(index=index, input=item, error=refused)
    try:
        value = await operation(item)
    except Exception as exc:  # one item's failure is its record, never the batch's
        throttle.release(ok=False)
        if stops is not None:
            stops.learn(item, exc)
        return BatchResult(index=index, input=item, error=exc)
    throttle.release(ok=True)
    return BatchResult(index=index, input=item, value=value)


async def run_batch(
    items: Iterable[I],
    operation: Callable[[I], Awaitable[T]],
    *,
    concurrency: int,
    stops: Stops[I] | None = None,
) -> list[BatchResult[T]]:
    """Apply ``operation`` to every item, at most ``concurrency`` at a time, in input order.

    With ``stops``, an item that an earlier answer showed cannot succeed is not sent: its
    result's error is a :class:`NotAttemptedError`.
    """
    inputs = list(items)
    results: list[BatchResult[T] | None] = [None] * len(inputs)
    numbered = enumerate(inputs)

    throttle = Throttle(concurrency)

    async def worker() -> None:
        rate_limit_listener.set(throttle.rate_limited)
        for index, item in numbered:
            results[index] = await _attempt(index, item, operation, throttle, stops)

    try:
        with parent_span(
            "globus_runs.batch", _span_attributes(operation, concurrency, len(inputs))
        ):
            async with anyio.create_task_group() as tg:
                for _ in range(min(concurrency, len(inputs))):
                    tg.start_soon(worker)
    except BaseExceptionGroup as group:
        raise _unwrapped(group) from None
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
    items: Iterable[I],
    operation: Callable[[I], Awaitable[T]],
    *,
    concurrency: int,
    stops: Stops[I] | None = None,
) -> AsyncIterator[BatchStream[T]]:
    """Apply ``operation`` to items read lazily, yielding results as they complete.

    Leaving the ``async with`` block early cancels the work still in flight. An error raised
    while reading ``items`` ends the stream and is raised as :class:`InvalidRequestError`.
    ``stops`` works as in :func:`run_batch`.
    """
    send, receive = anyio.create_memory_object_stream[BatchResult[T]](concurrency)
    feed = _Feed(items)

    throttle = Throttle(concurrency)

    async def worker(out: ObjectSendStream[BatchResult[T]]) -> None:
        rate_limit_listener.set(throttle.rate_limited)
        async with out:
            for index, item in feed:
                await out.send(await _attempt(index, item, operation, throttle, stops))

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
        raise _unwrapped(group) from None
    if feed.error is not None:
        raise InvalidRequestError(f"reading the batch's inputs failed: {feed.error}") from (
            feed.error
        )
