"""Waiting for runs: one run by polling it, many runs by listing, and watching one run's events."""

from __future__ import annotations

import logging
import random
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

import anyio

from .._errors import (
    APIError,
    ConfigurationError,
    GlobusRunsError,
    NotAttemptedError,
    RunInactiveError,
    WaitTimeoutError,
)
from .._models import (
    Run,
    RunEvent,
    RunLogEntry,
    RunLogEvent,
    RunNeedsConsentEvent,
    RunStatus,
    RunStatusEvent,
    RunWaitingForInputEvent,
)
from .._web_input_models import WebInput
from .._wire import id_segment
from ._patience import TRANSIENT_ERRORS, FailedPolls
from ._wait_progress import ProgressCallback, progress_of

if TYPE_CHECKING:
    from ._client import FlowsClient

__all__ = [
    "MAX_POLL_INTERVAL",
    "RunWatcher",
    "poll_delays",
    "wait_for_run",
    "wait_for_runs",
]

logger = logging.getLogger("globus_runs")

MAX_POLL_INTERVAL = 60.0
_GROWTH = 1.5
_JITTER = 0.1
# Completion times of runs listed in one poll may trail those of runs committed just before
# it; each listing reaches this far behind the latest completion already seen.
_COMPLETION_OVERLAP = timedelta(minutes=2)
_FLOWS_PER_QUERY = 20
_PER_PAGE = 50

InactivePolicy = Literal["wait", "return", "raise"]


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


async def wait_for_run(
    client: FlowsClient,
    run_id: str,
    *,
    poll_interval: float,
    timeout: float | None,
    on_inactive: InactivePolicy,
) -> Run:
    """Poll ``run_id`` until it is terminal (see ``FlowsClient.wait_for_run``)."""
    _check_inactive_policy(on_inactive)
    id_segment(run_id, "run_id")
    delays = poll_delays(poll_interval)
    failures = FailedPolls(client.retry)
    failures.begin()
    last: Run | None = None
    with anyio.move_on_after(timeout):
        while True:
            try:
                last = await client.get_run(run_id)
            except TRANSIENT_ERRORS as exc:
                if failures.exhausted(exc):
                    raise
                logger.debug("waiting for run %s: %s; polling again", run_id, exc)
            else:
                failures.succeeded()
                if last.is_terminal:
                    return last
                if last.status == RunStatus.INACTIVE:
                    if on_inactive == "return":
                        return last
                    if on_inactive == "raise":
                        raise RunInactiveError(last)
            await anyio.sleep(next(delays))
    # Only a timeout leaves the block without returning.
    status = last.status if last is not None else "unknown"
    raise WaitTimeoutError(
        f"run {run_id} did not finish within {timeout} s (last status: {status})", last_run=last
    )


def _run_id_of(item: str | Run) -> str:
    run_id = item.run_id if isinstance(item, Run) else item
    id_segment(run_id, "run_id")
    return run_id


class _ManyRuns:
    """The state of a ``wait_for_runs`` call: what is known of each run, what is still open."""

    def __init__(self, items: Iterable[str | Run], on_inactive: InactivePolicy = "wait") -> None:
        self.on_inactive = on_inactive
        self.order: list[str] = []
        self.latest: dict[str, Run] = {}
        for item in items:
            run_id = _run_id_of(item)
            self.order.append(run_id)
            if isinstance(item, Run):
                self.latest[run_id] = item
        self.open = {run_id for run_id in self.order if not self._done(run_id)}
        self.since: datetime | None = None

    def _finished(self, run: Run) -> bool:
        if run.is_terminal:
            return True
        if run.status == RunStatus.INACTIVE and self.on_inactive != "wait":
            if self.on_inactive == "raise":
                raise RunInactiveError(run)
            return True
        return False

    def _done(self, run_id: str) -> bool:
        run = self.latest.get(run_id)
        return run is not None and self._finished(run)

    def saw(self, run: Run) -> None:
        if run.run_id not in self.latest and run.run_id not in self.open:
            return
        self.latest[run.run_id] = run
        if self._finished(run):
            self.open.discard(run.run_id)

    def unknown(self) -> list[str]:
        return [run_id for run_id in self.open if run_id not in self.latest]

    def flow_ids(self) -> list[str]:
        return sorted(
            {self.latest[run_id].flow_id for run_id in self.open if run_id in self.latest}
        )

    def start_window(self) -> None:
        starts = [
            run.start_time
            for run_id in self.open
            if (run := self.latest.get(run_id)) is not None and run.start_time is not None
        ]
        if starts:
            self.since = min(starts)

    def advance_window(self, latest_completion: datetime | None) -> None:
        if latest_completion is None:
            return
        candidate = latest_completion - _COMPLETION_OVERLAP
        if self.since is None or candidate > self.since:
            self.since = candidate

    def result(self) -> list[Run]:
        return [self.latest[run_id] for run_id in self.order]

    def report(self, on_progress: ProgressCallback | None) -> None:
        if on_progress is not None:
            on_progress(progress_of(self.order, self.latest))

    def snapshot(self) -> list[Run]:
        return [self.latest[run_id] for run_id in self.order if run_id in self.latest]


async def _look_up(client: FlowsClient, state: _ManyRuns, failures: FailedPolls) -> bool:
    """Fetch, one by one (bounded), the runs whose flow and start time are not known yet;
    whether any was answered.

    A round in which some look-up failed transiently counts as one failed poll.
    """
    transient: GlobusRunsError | None = None
    answered = False
    for result in await client.batch_get_runs(state.unknown()):
        if result.error is None:
            answered = True
            state.saw(result.unwrap())
        elif isinstance(result.error, TRANSIENT_ERRORS):
            transient = result.error
        elif isinstance(result.error, NotAttemptedError):
            raise result.error.cause  # what the wait's caller must see is the answer itself
        else:
            raise result.error
    if transient is None:
        failures.succeeded()
    elif failures.exhausted(transient):
        raise transient
    else:
        logger.debug("waiting for runs: looking up: %s; looking up again", transient)
    return answered


async def _list_finished(client: FlowsClient, state: _ManyRuns) -> None:
    """One poll: list the terminal runs of the open runs' flows completed in the window.

    The listing is newest completion first, so its first run is the latest completion when
    the poll began: a run finishing while the pages are read completes after it, and the next
    window (which starts there, less an overlap) still holds it.
    """
    latest: datetime | None = None
    flow_ids = state.flow_ids()
    for start in range(0, len(flow_ids), _FLOWS_PER_QUERY):
        listing = client.iter_runs(
            filter_flow_id=flow_ids[start : start + _FLOWS_PER_QUERY],
            filter_status=sorted(RunStatus.TERMINAL),
            filter_completion_time=(state.since, None) if state.since else None,
            orderby="completion_time DESC",
            per_page=_PER_PAGE,
        )
        first = True
        async for run in listing:
            state.saw(run)
            if first and run.completion_time is not None:
                latest = min(latest, run.completion_time) if latest else run.completion_time
            first = False
    state.advance_window(latest)
    if state.on_inactive != "wait":
        await _list_inactive(client, state, flow_ids)


async def _list_inactive(client: FlowsClient, state: _ManyRuns, flow_ids: list[str]) -> None:
    """List the flows' INACTIVE runs (no time window: a run may pause at any moment)."""
    for start in range(0, len(flow_ids), _FLOWS_PER_QUERY):
        listing = client.iter_runs(
            filter_flow_id=flow_ids[start : start + _FLOWS_PER_QUERY],
            filter_status=RunStatus.INACTIVE,
            per_page=_PER_PAGE,
        )
        async for run in listing:
            state.saw(run)


async def wait_for_runs(
    client: FlowsClient,
    run_ids: Iterable[str | Run],
    *,
    poll_interval: float,
    timeout: float | None,
    on_inactive: InactivePolicy = "wait",
    on_progress: ProgressCallback | None = None,
) -> list[Run]:
    """Wait for many runs with list queries (see ``FlowsClient.wait_for_runs``)."""
    _check_inactive_policy(on_inactive)
    state = _ManyRuns(run_ids, on_inactive)
    delays = poll_delays(poll_interval)
    failures = FailedPolls(client.retry)
    failures.begin()
    with anyio.move_on_after(timeout):
        while state.unknown():
            if await _look_up(client, state, failures):
                state.report(on_progress)
            if state.unknown():
                await anyio.sleep(next(delays))
        state.start_window()
        # The first listing is immediate: runs that ended already return without a sleep.
        while state.open:
            try:
                await _list_finished(client, state)
            except TRANSIENT_ERRORS as exc:
                if failures.exhausted(exc):
                    raise
                logger.debug("waiting for %d runs: %s; listing again", len(state.open), exc)
            else:
                failures.succeeded()
                state.report(on_progress)
            if state.open:
                await anyio.sleep(next(delays))
        return state.result()
    raise WaitTimeoutError(
        f"{len(state.open)} of {len(state.order)} runs did not finish within {timeout} s",
        last_runs=state.snapshot(),
    )


class RunWatcher:
    """Async iterator of a run's events: status changes and new log entries, until terminal.

    Each poll fetches the run, then the log entries not yet seen (newest first, stopping at the
    first one already seen). The first event is the run's current status; after that, new
    entries come oldest first, followed by a :class:`RunStatusEvent` when the status changed.
    It ends after the terminal status.
    """

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
        self._polled = False
        self._failures = FailedPolls(client.retry)
        self._announced_input: str | None = None

    def __aiter__(self) -> RunWatcher:
        return self

    async def __anext__(self) -> RunEvent:
        while not self._pending:
            if self._finished:
                raise StopAsyncIteration
            if self._polled:
                await anyio.sleep(next(self._delays))
            else:
                self._failures.begin()
            self._polled = True
            try:
                await self._poll()
            except TRANSIENT_ERRORS as exc:
                if self._failures.exhausted(exc):
                    raise
                logger.debug("watching run %s: %s; polling again", self._run_id, exc)
            else:
                self._failures.succeeded()
        return self._pending.popleft()

    async def _poll(self) -> None:
        run = await self._client.get_run(self._run_id)
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
