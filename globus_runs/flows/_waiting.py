"""Waiting for runs: one run, many runs, runs as they end, and one run's events; all of them
through the client's tracker (``_tracker``), which polls for every wait together."""

from __future__ import annotations

import logging
import math
import random
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

import anyio

from .._converter import structure
from .._errors import (
    APIError,
    ConfigurationError,
    RunsNotFoundError,
    WaitTimeoutError,
)
from .._models import BatchResult, Run, RunLogEntry, RunStatus
from .._wire import id_segment
from ._patience import TRANSIENT_ERRORS, FailedPolls
from ._tracker import _CHUNK, InactivePolicy, Waiter, tracker_of
from ._wait_progress import ProgressCallback, progress_of_statuses

if TYPE_CHECKING:
    from .._events import RunEvent
    from .._web_input_models import WebInput
    from ._client import FlowsClient

__all__ = [
    "MAX_POLL_INTERVAL",
    "InactivePolicy",
    "RunCompletions",
    "RunWatcher",
    "poll_delays",
    "wait_for_run",
    "wait_for_runs",
]

logger = logging.getLogger("globus_runs")

MAX_POLL_INTERVAL = 60.0
_GROWTH = 1.5
_JITTER = 0.1


def poll_delays(poll_interval: float, rng: Callable[[], float] = random.random) -> Iterator[float]:
    """Seconds to sleep between polls: ``poll_interval``, growing by half each time up to
    60 s (or ``poll_interval`` if larger), each jittered by up to 10 % either way."""
    if poll_interval <= 0:
        raise ConfigurationError("poll_interval must be positive")
    ceiling = max(MAX_POLL_INTERVAL, poll_interval)
    current = poll_interval
    while True:
        yield current * (1 + _JITTER * (2 * rng() - 1))
        current = min(ceiling, current * _GROWTH)


def _check_inactive_policy(on_inactive: str) -> None:
    if on_inactive not in ("wait", "return", "raise"):
        raise ConfigurationError("on_inactive must be 'wait', 'return' or 'raise'")


def _run_id_of(item: str | Run) -> str:
    run_id = item.run_id if isinstance(item, Run) else item
    id_segment(run_id, "run_id")
    return run_id


def _seen_as(run_id: str, flow_id: str | None, status: str | None) -> Run | None:
    """What a tracker knows of a run, as a :class:`Run` holding only that."""
    if status is None:
        return None
    return structure({"run_id": run_id, "flow_id": flow_id or "", "status": status}, Run)


async def wait_for_run(
    client: FlowsClient,
    run_id: str,
    *,
    poll_interval: float,
    timeout: float | None,
    on_inactive: InactivePolicy,
) -> Run:
    """Wait until ``run_id`` is terminal, through the client's tracker (see
    ``FlowsClient.wait_for_run``)."""
    _check_inactive_policy(on_inactive)
    id_segment(run_id, "run_id")
    waiter = Waiter(
        tracker_of(client), client, delays=poll_delays(poll_interval), on_inactive=on_inactive
    )
    waiter.keep_last = waiter.single = True
    try:
        waiter.add([run_id], _run_id_of)
        with anyio.move_on_after(timeout):
            while True:
                await waiter.next_news()
                if waiter.ready:
                    return waiter.ready.popleft().unwrap()
                if waiter.failure is not None:
                    raise waiter.failure
        if waiter.ready:  # it ended as the time ran out: the run, not a timeout
            return waiter.ready.popleft().unwrap()
        last = waiter.last or _seen_as(run_id, *waiter.tracker.status_of(run_id))
    finally:
        waiter.close()
    # Only a timeout leaves the block without returning.
    status = last.status if last is not None else "unknown"
    raise WaitTimeoutError(
        f"run {run_id} did not finish within {timeout} s (last status: {status})", last_run=last
    )


class RunCompletions:
    """An async iterator of runs as they end: one :class:`BatchResult` per run given, in the
    order they end (see ``FlowsClient.as_completed``).

    Each result's ``index`` is the run's position in the input and ``input`` its id;
    ``value`` is the final :class:`Run`, or ``error`` a :class:`RunNotFoundError` for a run
    that was deleted (or never visible). Use it as an async context manager, or call
    :meth:`aclose`, to stop waiting before the end; breaking out of the loop does the same once
    the iterator is dropped.
    """

    #: Set once iterating begins (a class default for ``__del__`` after a refused ``__init__``).
    _waiter: Waiter | None = None

    def __init__(
        self,
        client: FlowsClient,
        run_ids: Iterable[str | Run],
        *,
        poll_interval: float,
        timeout: float | None,
        on_inactive: InactivePolicy,
        on_poll: Callable[[RunCompletions], object] | None = None,
    ) -> None:
        _check_inactive_policy(on_inactive)
        self._client = client
        self._items: Iterable[str | Run] | None = run_ids
        self._delays = poll_delays(poll_interval)
        self._timeout = timeout
        self._on_inactive: InactivePolicy = on_inactive
        self._on_poll = on_poll
        self._waiter = None
        self._deadline = math.inf
        self._reported = 0
        self._ended = False
        self._given = 0

    def __aiter__(self) -> RunCompletions:
        return self

    async def __aenter__(self) -> RunCompletions:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop waiting: the tracker forgets the runs no other wait is waiting for."""
        self._close()

    def __del__(self) -> None:
        self._close()

    def _close(self) -> None:
        # Also from __del__, when __init__ refused its arguments before setting the waiter.
        self._ended = True
        waiter = self._waiter
        if waiter is not None:
            waiter.close()

    async def _start(self) -> Waiter:
        waiter = Waiter(
            tracker_of(self._client),
            self._client,
            delays=self._delays,
            on_inactive=self._on_inactive,
        )
        self._waiter = waiter
        items, self._items = self._items, None
        if self._timeout is not None:
            self._deadline = anyio.current_time() + self._timeout
        try:
            await waiter.add_many(items or (), _run_id_of)
        except BaseException:
            self._close()
            raise
        return waiter

    def status_of(self, run_id: str) -> str | None:
        """The status last seen of a run not ended yet (``None`` when not looked up yet)."""
        if self._waiter is None:
            return None
        return self._waiter.tracker.status_of(run_id)[1]

    async def __anext__(self) -> BatchResult[Run]:
        if self._ended:
            raise StopAsyncIteration
        waiter = self._waiter if self._waiter is not None else await self._start()
        while not waiter.ready:
            if waiter.failure is not None:
                self._close()
                raise waiter.failure
            self._report(waiter)
            if waiter.open <= 0:
                self._close()
                raise StopAsyncIteration
            with anyio.CancelScope(deadline=self._deadline) as scope:
                await waiter.next_news()
            if scope.cancelled_caught and not waiter.ready:
                # A run that ended as the time ran out is given first; the timeout comes next.
                self._timed_out(waiter)
        self._given += 1
        if self._given % _CHUNK == 0:
            # Runs that ended together are many results ready at once: a loop taking them
            # lets other tasks run every so often (before taking one: none is lost).
            await anyio.lowlevel.checkpoint()
        return waiter.ready.popleft()

    def _report(self, waiter: Waiter) -> None:
        if self._on_poll is not None and waiter.polls != self._reported:
            self._reported = waiter.polls
            try:
                self._on_poll(self)
            except BaseException:
                self._close()
                raise

    def _timed_out(self, waiter: Waiter) -> None:
        open_ids = [run_id for run_id in waiter.ids if run_id in waiter.tracker]
        last = [_seen_as(run_id, *waiter.tracker.status_of(run_id)) for run_id in open_ids]
        total = len(waiter.ids)  # before closing, which forgets them
        self._close()
        raise WaitTimeoutError(
            f"{len(open_ids)} of {total} runs did not finish within {self._timeout} s",
            last_runs=[run for run in last if run is not None],
        )


async def wait_for_runs(
    client: FlowsClient,
    run_ids: Iterable[str | Run],
    *,
    poll_interval: float,
    timeout: float | None,
    on_inactive: InactivePolicy = "wait",
    on_progress: ProgressCallback | None = None,
) -> list[Run]:
    """Wait for many runs through the client's tracker (see ``FlowsClient.wait_for_runs``):
    the results of :class:`RunCompletions`, put back in input order."""
    items = list(run_ids)  # their ids are checked as they are registered, a chunk at a time
    results: list[BatchResult[Run] | None] = [None] * len(items)

    def statuses(completions: RunCompletions) -> Iterator[str | None]:
        for index, item in enumerate(items):
            result = results[index]
            if result is not None:
                yield result.value.status if result.value is not None else "NOT_FOUND"
                continue
            status = completions.status_of(item.run_id if isinstance(item, Run) else item)
            yield status if status is not None or not isinstance(item, Run) else item.status

    def report(completions: RunCompletions) -> None:
        if on_progress is not None:
            on_progress(progress_of_statuses(statuses(completions)))

    completions = RunCompletions(
        client,
        items,
        poll_interval=poll_interval,
        timeout=timeout,
        on_inactive=on_inactive,
        on_poll=report if on_progress is not None else None,
    )
    try:
        async for result in completions:
            results[result.index] = result
    except WaitTimeoutError as error:
        seen = {run.run_id: run for run in error.last_runs}
        last: list[Run] = []
        for index, item in enumerate(items):
            ended = results[index]
            if ended is not None and ended.value is not None:
                last.append(ended.value)
            elif isinstance(item, Run):
                last.append(item)
            elif (found := seen.get(item)) is not None:
                last.append(found)
        error.last_runs = last
        raise
    finally:
        await completions.aclose()
    done = [result for result in results if result is not None]
    if any(result.error is not None for result in done):
        raise RunsNotFoundError(done)
    return [result.unwrap() for result in done]


class RunWatcher:
    """Async iterator of a run's events: status changes and new log entries, until terminal.

    The run's state comes from the client's tracker, which fetches a watched run on each of
    its polls (coalesced with every other wait of the client); after each state, the log
    entries not yet seen are read (newest first, stopping at the first one already seen). The
    first event is the run's current status; after that, new entries come oldest first,
    followed by a :class:`RunStatusEvent` when the status changed. It ends after the terminal
    status. A run deleted meanwhile ends it with :class:`RunNotFoundError`.
    """

    #: Set at the first step (a class default for ``__del__`` after a refused ``__init__``).
    _waiter: Waiter | None = None

    def __init__(
        self, client: FlowsClient, run_id: str, *, poll_interval: float, include_logs: bool
    ) -> None:
        id_segment(run_id, "run_id")
        self._client = client
        self._run_id = run_id
        self._include_logs = include_logs
        self._delays = poll_delays(poll_interval)
        self._pending: deque[RunEvent] = deque()
        self._seen: set[tuple[datetime, str, str]] = set()
        self._status: str | None = None
        self._finished = False
        self._failures = FailedPolls(client.retry)
        self._announced_input: str | None = None
        self._waiter = None
        self._state: Run | None = None

    def __aiter__(self) -> RunWatcher:
        return self

    async def aclose(self) -> None:
        """Stop watching before the end (breaking out of the loop does it once the watcher
        is dropped)."""
        self._close()

    def __del__(self) -> None:
        self._close()

    def _close(self) -> None:
        # Also from __del__, when __init__ refused its arguments before setting the waiter.
        waiter = self._waiter
        if waiter is not None:
            waiter.close()

    def _watching(self) -> Waiter:
        if self._waiter is None:
            waiter = Waiter(
                tracker_of(self._client),
                self._client,
                delays=self._delays,
                on_inactive="wait",
                watch=True,
            )
            self._waiter = waiter
            self._failures.begin()
            waiter.add([self._run_id], _run_id_of)
        return self._waiter

    async def __anext__(self) -> RunEvent:
        try:
            while not self._pending:
                if self._finished:
                    self._close()
                    raise StopAsyncIteration
                if self._state is None:
                    self._state = await self._next_state()
                try:
                    await self._poll(self._state)
                except TRANSIENT_ERRORS as exc:
                    if self._failures.exhausted(exc):
                        raise
                    logger.debug("watching run %s: %s; polling again", self._run_id, exc)
                    await anyio.sleep(next(self._delays))
                else:
                    self._failures.succeeded()
                    self._state = None
        except BaseException:
            self._close()
            raise
        return self._pending.popleft()

    async def _next_state(self) -> Run:
        waiter = self._watching()
        while waiter.observed is None:
            if waiter.failure is not None:
                raise waiter.failure
            await waiter.next_news()
        run, waiter.observed = waiter.observed, None
        return run

    async def _poll(self, run: Run) -> None:
        from .._events import (  # imported on first use
            RunLogEvent,
            RunNeedsConsentEvent,
            RunStatusEvent,
            RunWaitingForInputEvent,
        )

        waiting_on = run.blocking_web_input_id
        waiting: RunWaitingForInputEvent | None = None
        if waiting_on is not None and waiting_on != self._announced_input:
            # Read before anything is queued: a failed read retries the whole poll.
            waiting = RunWaitingForInputEvent(
                run, waiting_on, await self._read_web_input(waiting_on)
            )
        entries = await self._new_entries() if self._include_logs else []
        logs = [RunLogEvent(self._run_id, entry) for entry in entries]
        if run.status == self._status:
            self._pending.extend(logs)
        elif self._status is None:
            # The first look: the status the run is in, then the log so far.
            self._pending.append(RunStatusEvent(run, None))
            self._pending.extend(logs)
        else:
            # A change: the entries that explain it, then the new status.
            self._pending.extend(logs)
            self._pending.append(RunStatusEvent(run, self._status))
        if run.status == RunStatus.INACTIVE and self._status != RunStatus.INACTIVE:
            reason = run.inactive_reason
            if reason is not None and reason.needs_consent:
                self._pending.append(RunNeedsConsentEvent(run, reason))
        if waiting is not None:
            self._pending.append(waiting)
        self._announced_input = waiting_on
        self._status = run.status
        self._finished = run.is_terminal

    async def _read_web_input(self, web_input_id: str) -> WebInput | None:
        try:
            return await self._client.get_web_input(web_input_id)
        except TRANSIENT_ERRORS:
            raise
        except APIError as exc:
            # A monitor of the run may hold no role on its web input: the event still says
            # the run waits, without the question.
            logger.debug("watching run %s: web input %s: %s", self._run_id, web_input_id, exc)
            return None

    async def _new_entries(self) -> list[RunLogEntry]:
        fresh: list[RunLogEntry] = []
        async for entry in self._client.iter_run_logs(self._run_id, reverse_order=True):
            key = (entry.time, entry.code, entry.description)
            if key in self._seen:
                break
            fresh.append(entry)
        self._seen.update((entry.time, entry.code, entry.description) for entry in fresh)
        fresh.reverse()
        return fresh
