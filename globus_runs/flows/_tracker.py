"""One tracker of runs per client (or per shared pool and identity): every wait polls through it.

Each wait (``wait_for_run``, ``wait_for_runs``, ``as_completed``, the status of ``watch_run``)
is a :class:`Waiter` registered with the :class:`RunTracker` of its client. The tracker keeps,
per run, only its id, flow id, start time, last status and the poll it was last seen at, and
polls for all of its runs together: a list query per twenty flows for the runs that ended in a
sliding window of completion times, and a single ``GET`` where that is cheaper (a run whose flow
is not known yet, a watched run, a run the list queries have not shown for a while, or a
tracker holding fewer runs than it would send list queries).

There is no background task: the waiting tasks take turns. The first waiter whose next poll is
due polls for everyone while the others sleep until the poll ends or their own poll is due.
A waiter that is cancelled mid-poll leaves the poll to the next one due; nothing else changes
for the others. When nobody waits, nobody polls, and the tracker forgets its runs.
"""

from __future__ import annotations

import json
import logging
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from hashlib import sha256
from typing import TYPE_CHECKING, Any, Literal

import anyio

from .. import _json
from .._auth import AccessTokenAuthorizer
from .._converter import parse_datetime, structure
from .._errors import (
    GlobusRunsError,
    ResponseParseError,
    RunInactiveError,
    RunNotFoundError,
)
from .._http.attempts import Response
from .._models import BatchResult, Run, RunStatus
from . import _requests as rq
from ._patience import TRANSIENT_ERRORS, FailedPolls

if TYPE_CHECKING:
    from ._client import FlowsClient

__all__ = [
    "OFF_LOOP_BYTES",
    "RunTracker",
    "Waiter",
    "decode_off_loop",
    "decode_yielding",
    "tracker_of",
]

logger = logging.getLogger("globus_runs")

InactivePolicy = Literal["wait", "return", "raise"]

#: Answers larger than this are decoded (and converted) in a worker thread, so that no single
#: decode holds the event loop for long (a few milliseconds of work per 256 KiB of runs).
OFF_LOOP_BYTES = 256 * 1024
#: A run the list queries have not shown for this many polls, and for at least
#: ``MISSING_AFTER`` seconds, is confirmed with a GET.
MISSING_POLLS = 5
MISSING_AFTER = 60.0
#: At least this many confirming GETs per poll (and at most as many as the poll's list queries,
#: when more): a deleted run among many is found within a bounded number of polls.
_MIN_CONFIRMS = 2
_FLOWS_PER_QUERY = 20
_PER_PAGE = 50
#: Items handled between two checkpoints when reading a listing or converting runs.
_CHUNK = 500
# Completion times of runs listed in one poll may trail those of runs committed just before
# it. Each listing reaches back this far behind the latest completion already seen: twice the
# longest lag observed, between these bounds. A run missed anyway is caught by the GET that
# confirms a run unseen for a while.
_OVERLAP_MIN = timedelta(seconds=5)
_OVERLAP_MAX = timedelta(minutes=2)


async def decode_off_loop(response: Response) -> Any:
    """The JSON of ``response``; above :data:`OFF_LOOP_BYTES`, decoded in a worker thread by
    :func:`decode_yielding`."""
    if len(response.content) > OFF_LOOP_BYTES:
        return await anyio.to_thread.run_sync(decode_yielding, response)
    return response.json()


def _same(value: dict[str, Any]) -> dict[str, Any]:
    return value


def decode_yielding(response: Response) -> Any:
    """The JSON of ``response``, decoded so that the thread doing it lets the event loop's
    thread run every few milliseconds.

    A decoder written in C holds the interpreter's lock for a whole document, worker thread
    or not; with a hook (Python code) run at the end of each JSON object, the lock is handed
    over there when another thread waits for it. A single object or array holding megabytes
    without any object inside is still decoded in one go. A body this decoder refuses is
    decoded as every answer is, for the same error.
    """
    try:
        # Text first, a mebibyte at a time; a body in another encoding goes the usual way.
        return json.loads(_json.text_of(response.content), object_hook=_same)
    except (ValueError, RecursionError):
        return response.json()


class _Entry:
    """What the tracker keeps of one run: about 200 bytes with the dictionary slot, the
    run's id string being shared with the caller's."""

    __slots__ = ("flow_id", "index", "others", "seen", "start", "status", "waiter")

    def __init__(self, waiter: Waiter, index: int) -> None:
        self.flow_id: str | None = None
        self.status: str | None = None
        self.start: datetime | None = None
        self.seen = 0
        self.waiter: Waiter | None = waiter
        self.index = index
        #: Further (waiter, input index) pairs waiting for this run.
        self.others: list[tuple[Waiter, int]] | None = None

    def waiters(self) -> Iterator[tuple[Waiter, int]]:
        if self.waiter is not None:
            yield self.waiter, self.index
        if self.others:
            yield from self.others

    def drop(self, waiter: Waiter) -> bool:
        """Forget ``waiter``; True when nobody waits for the run any more."""
        if self.waiter is waiter:
            self.waiter = None
        if self.others:
            self.others = [pair for pair in self.others if pair[0] is not waiter] or None
        if self.waiter is None and self.others:
            self.waiter, self.index = self.others.pop(0)
            self.others = self.others or None
        return self.waiter is None


class Waiter:
    """One wait registered with a tracker: its runs' outcomes, its schedule and its failures.

    Outcomes are :class:`BatchResult` objects (``index`` is the run's position in the wait's
    input, ``input`` its id) kept in ``ready`` until the waiting task takes them. ``failure``
    is an error that ends the whole wait (a transient error past the retry policy, a 401 or a
    403, ``RunInactiveError`` for ``on_inactive="raise"``).
    """

    def __init__(
        self,
        tracker: RunTracker,
        client: FlowsClient,
        *,
        delays: Iterator[float],
        on_inactive: InactivePolicy,
        watch: bool = False,
    ) -> None:
        self.tracker = tracker
        self.client = client
        self.on_inactive = on_inactive
        self.watch = watch
        #: A wait for one run (``wait_for_run``, ``watch_run``): polled with GETs when the
        #: tracker holds no more runs than it would send list queries.
        self.single = watch
        self.delays = delays
        self.due = anyio.current_time()
        self.failures = FailedPolls(client.retry)
        self.failures.begin()
        self.ready: deque[BatchResult[Run]] = deque()
        self.failure: BaseException | None = None
        self.open = 0
        self.ids: list[str] = []
        #: For a watching waiter: the latest state fetched, until taken.
        self.observed: Run | None = None
        #: Keep ``last``, the latest state fetched of the waiter's runs (for a single run).
        self.keep_last = False
        self.last: Run | None = None
        self.polls = 0
        self.closed = False

    def finished(self, run_id: str, index: int, run: Run | None, error: Exception | None) -> None:
        self.open -= 1
        self.ready.append(BatchResult(index=index, input=run_id, value=run, error=error))

    def fail(self, error: BaseException) -> None:
        if self.failure is None:
            self.failure = error

    def has_news(self) -> bool:
        if self.watch:
            return self.observed is not None or self.failure is not None or self.open == 0
        return bool(self.ready) or self.failure is not None or self.open == 0

    def add(self, items: Iterable[str | Run], run_id_of: Callable[[str | Run], str]) -> None:
        """Register ``items`` (ids or runs, validated by ``run_id_of``) in input order."""
        self.tracker.add(self, items, run_id_of)

    async def add_many(
        self, items: Iterable[str | Run], run_id_of: Callable[[str | Run], str]
    ) -> None:
        """`add`, ``_CHUNK`` items at a time with a checkpoint between: registering 100,000
        runs holds the event loop a few milliseconds at a time, not for the whole list."""
        chunk: list[str | Run] = []
        index = 0
        for item in items:
            chunk.append(item)
            if len(chunk) == _CHUNK:
                self.tracker.add(self, chunk, run_id_of, index)
                index += len(chunk)
                chunk = []
                await anyio.lowlevel.checkpoint()
        self.tracker.add(self, chunk, run_id_of, index)

    async def next_news(self) -> None:
        """Return once this waiter has news (an outcome, an observation, a failure or an end)
        or once one more poll has been made for it."""
        await self.tracker.serve(self)

    def close(self) -> None:
        """Unregister: the tracker forgets the runs nobody else waits for."""
        if not self.closed:
            self.closed = True
            self.tracker.remove(self)


class RunTracker:
    """Polls, for every waiter registered, the runs they wait for (see the module's text)."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._flows: dict[str, int] = {}
        self._waiters: set[Waiter] = set()
        self._polling = False
        #: Whether a GET of the poll under way was answered (a run's state, or a 404).
        self._answered = False
        self._changed: anyio.Event | None = None
        #: Runs whose flow is not known yet (given by id, not looked up).
        self._unknown: set[str] = set()
        self._since: datetime | None = None
        self._lower_since: datetime | None = None
        self._high: datetime | None = None
        self._overlap = _OVERLAP_MIN
        self.polls = 0
        #: When each poll began (``anyio.current_time()``), by poll number less one.
        self._started: list[float] = []
        #: Called when the last waiter leaves (the registry of shared trackers forgets it).
        self.on_idle: Callable[[], None] | None = None
        #: What the tracker's key in that registry stands for (kept alive with it).
        self.holds: object = None

    # -- registration ----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, run_id: object) -> bool:
        return run_id in self._entries

    def add(
        self,
        waiter: Waiter,
        items: Iterable[str | Run],
        run_id_of: Callable[[str | Run], str],
        first: int = 0,
    ) -> None:
        """Register ``items`` for ``waiter``, the first being its input's item ``first``."""
        self._waiters.add(waiter)
        for index, item in enumerate(items, first):
            run_id = run_id_of(item)
            waiter.ids.append(run_id)
            waiter.open += 1
            entry = self._entries.get(run_id)
            if entry is None:
                entry = self._entries[run_id] = _Entry(waiter, index)
                entry.seen = self.polls
                if not isinstance(item, Run):
                    self._unknown.add(run_id)
            elif entry.waiter is None:
                entry.waiter, entry.index = waiter, index
            else:
                entry.others = [*(entry.others or ()), (waiter, index)]
            if not isinstance(item, Run):
                continue
            if entry.flow_id is None:
                self._learn(run_id, entry, item.flow_id, item.status, item.start_time)
            if self._ended_for(item, waiter):
                self._deliver(run_id, entry, item, only=waiter)
            elif item.start_time is not None:
                # A run given as it was seen earlier may have ended before the window.
                self._reach_back(item.start_time)

    def remove(self, waiter: Waiter) -> None:
        self._waiters.discard(waiter)
        for run_id in waiter.ids:
            entry = self._entries.get(run_id)
            if entry is not None and entry.drop(waiter):
                self._forget(run_id, entry)
        waiter.ids = []
        if not self._waiters:
            self._entries.clear()
            self._flows.clear()
            self._unknown.clear()
            self._since = self._lower_since = self._high = None
            self._started.clear()
            self.polls = 0
            self._changed = None  # the next wait may run in another event loop
            if self.on_idle is not None:
                self.on_idle()

    def _learn(
        self, run_id: str, entry: _Entry, flow_id: str, status: str, start: datetime | None
    ) -> None:
        if entry.flow_id is None:
            self._unknown.discard(run_id)
            entry.flow_id = flow_id
            self._flows[flow_id] = self._flows.get(flow_id, 0) + 1
        entry.status = status
        if entry.start is None:
            entry.start = start

    def _forget(self, run_id: str, entry: _Entry) -> None:
        del self._entries[run_id]
        self._unknown.discard(run_id)
        if entry.flow_id is not None:
            left = self._flows[entry.flow_id] - 1
            if left:
                self._flows[entry.flow_id] = left
            else:
                del self._flows[entry.flow_id]

    def _reach_back(self, start: datetime) -> None:
        if self._polling:
            if self._lower_since is None or start < self._lower_since:
                self._lower_since = start
        elif self._since is not None and start < self._since:
            self._since = start

    def status_of(self, run_id: str) -> tuple[str | None, str | None]:
        """The flow id and the status last seen of a tracked run (``None`` when not known)."""
        entry = self._entries.get(run_id)
        return (entry.flow_id, entry.status) if entry is not None else (None, None)

    # -- outcomes --------------------------------------------------------------------------

    @staticmethod
    def _ended_for(run: Run, waiter: Waiter) -> bool:
        if run.is_terminal:
            return True
        return run.status == RunStatus.INACTIVE and waiter.on_inactive != "wait"

    def _deliver(self, run_id: str, entry: _Entry, run: Run, *, only: Waiter | None = None) -> None:
        """Hand ``run`` to each of its waiters for whom it has ended; forget it when nobody
        waits for it any more."""
        for waiter, index in list(entry.waiters()):
            if only is not None and waiter is not only:
                continue
            if waiter.keep_last:
                waiter.last = run
            if waiter.watch:
                waiter.observed = run
                if run.is_terminal:
                    waiter.open = 0
                    entry.drop(waiter)
                continue
            if not self._ended_for(run, waiter):
                continue
            if run.status == RunStatus.INACTIVE and waiter.on_inactive == "raise":
                waiter.fail(RunInactiveError(run))
                continue
            waiter.finished(run_id, index, run, None)
            entry.drop(waiter)
        if entry.waiter is None and self._entries.get(run_id) is entry:
            self._forget(run_id, entry)

    def _not_found(self, run_id: str, entry: _Entry, error: RunNotFoundError) -> None:
        for waiter, index in list(entry.waiters()):
            if waiter.watch:
                waiter.fail(error)
            else:
                waiter.finished(run_id, index, None, error)
        entry.waiter, entry.others = None, None
        self._forget(run_id, entry)

    # -- serving a waiter ------------------------------------------------------------------

    async def serve(self, waiter: Waiter) -> None:
        """Poll (or wait for another waiter's poll) until ``waiter`` has news, or one more
        poll has been completed for it."""
        polls = waiter.polls
        while not waiter.has_news() and waiter.polls == polls:
            changed = self._event()
            if self._polling:
                await changed.wait()
                continue
            wait = waiter.due - anyio.current_time()
            if wait > 0:
                with anyio.move_on_after(wait):
                    await changed.wait()
                continue
            await self._lead(waiter)

    def _event(self) -> anyio.Event:
        if self._changed is None:
            self._changed = anyio.Event()
        return self._changed

    async def _lead(self, leader: Waiter) -> None:
        self._polling = True
        waiters = list(self._waiters)
        completed = counted = False
        self._answered = False
        try:
            await self._poll(leader.client)
        except TRANSIENT_ERRORS as exc:
            logger.debug("waiting for %d run(s): %s; polling again", len(self._entries), exc)
            for waiter in waiters:
                if waiter.failures.exhausted(exc):
                    waiter.fail(exc)
            # A round of look-ups of which some were answered still tells something new.
            completed, counted = True, self._answered
        except GlobusRunsError as exc:
            for waiter in waiters:
                waiter.fail(exc)
            completed = True
        else:
            completed = counted = True
            for waiter in waiters:
                waiter.failures.succeeded()
        finally:
            self._polling = False
            if self._lower_since is not None:
                self._reach_back(self._lower_since)
                self._lower_since = None
            now = anyio.current_time()
            for waiter in waiters if completed else ():
                # A poll cut short (its leader cancelled) is taken up by the next waiter due.
                waiter.polls += counted
                if waiter.due <= now:
                    waiter.due = now + next(waiter.delays)
            changed, self._changed = self._event(), anyio.Event()
            changed.set()

    # -- one poll --------------------------------------------------------------------------

    async def _poll(self, client: FlowsClient) -> None:
        self.polls += 1
        self._started.append(anyio.current_time())
        chunks = -(-len(self._flows) // _FLOWS_PER_QUERY)
        inactive = any(w.on_inactive != "wait" for w in self._waiters)
        queries = chunks * (2 if inactive else 1)
        by_get = self._to_get(queries, all(w.single for w in self._waiters))
        listed = len(by_get) < len(self._entries)
        if by_get:
            await self._get_each(client, by_get)
        if listed and self._flows:
            await self._list_ended(client)
            if inactive:
                await self._list_inactive(client)

    def _to_get(self, queries: int, single: bool) -> list[str]:
        """The runs to fetch one by one this poll: all of them when that is fewer requests
        than the list queries (or as many, all waits being for one run each); otherwise the
        runs whose flow is not known yet, the watched ones, and (within a budget, oldest
        first) those unseen for a while (``MISSING_POLLS`` polls and ``MISSING_AFTER`` s)."""
        entries = self._entries
        if len(entries) < queries or (single and len(entries) <= max(queries, 1)):
            return list(entries)
        chosen = dict.fromkeys(run_id for run_id in self._unknown if run_id in entries)
        for waiter in self._waiters:
            if waiter.watch:
                chosen.update(dict.fromkeys(i for i in waiter.ids if i in entries))
        budget = max(_MIN_CONFIRMS, queries)
        stale_before = self._stale_before()
        # Entries are kept in the order they were last seen: the stale ones come first.
        for run_id, entry in entries.items():
            if budget <= 0 or entry.seen > stale_before:
                break
            if run_id not in chosen:
                chosen[run_id] = None
                budget -= 1
        return list(chosen)

    def _stale_before(self) -> int:
        """The latest poll such that a run last seen at it (or before) counts as missing:
        ``MISSING_POLLS`` polls ago, begun ``MISSING_AFTER`` seconds ago (-1: none yet)."""
        latest = self.polls - MISSING_POLLS
        horizon = anyio.current_time() - MISSING_AFTER
        # Poll p began at _started[p - 1]; runs registered before any poll count from the first.
        while latest >= 0 and self._started[max(latest, 1) - 1] > horizon:
            latest -= 1
        return latest

    def _saw(self, run_id: str, entry: _Entry) -> None:
        entry.seen = self.polls
        # Move to the end: the dict stays ordered by when each run was last seen.
        del self._entries[run_id]
        self._entries[run_id] = entry

    async def _get_each(self, client: FlowsClient, run_ids: Sequence[str]) -> None:
        transient: GlobusRunsError | None = None
        limit = anyio.CapacityLimiter(client._concurrency(None))

        async def get(run_id: str) -> None:
            nonlocal transient
            async with limit:
                try:
                    response = await client._transport.send(rq.get_run(run_id))
                    run = structure(
                        await decode_off_loop(response),
                        Run,
                        method=response.method,
                        url=response.url,
                    )
                except RunNotFoundError as exc:
                    self._answered = True
                    entry = self._entries.get(run_id)
                    if entry is not None:
                        self._not_found(run_id, entry, exc)
                    return
                except TRANSIENT_ERRORS as exc:
                    transient = exc
                    return
                except GlobusRunsError as exc:
                    entry = self._entries.get(run_id)
                    if entry is not None:
                        for waiter, _ in list(entry.waiters()):
                            waiter.fail(exc)
                    return
            self._answered = True
            entry = self._entries.get(run_id)
            if entry is None:
                return
            self._learn(run_id, entry, run.flow_id, run.status, run.start_time)
            self._saw(run_id, entry)
            self._deliver(run_id, entry, run)

        async with anyio.create_task_group() as group:
            for run_id in run_ids:
                group.start_soon(get, run_id)
        if transient is not None:
            raise transient

    async def _walk(
        self, client: FlowsClient, request: Any, on_page: Callable[[list[Any], Response], Any]
    ) -> None:
        """Read each page of a listing (following markers, stopping on a repeated one) and
        await ``on_page(runs, response)`` for it."""
        markers: set[str] = set()
        while True:
            response = await client._transport.send(request)
            page = await decode_off_loop(response)
            runs = page.get("runs") if isinstance(page, dict) else None
            if not isinstance(runs, list):
                raise _malformed(response, "no list of runs")
            await on_page(runs, response)
            if not page.get("has_next_page"):
                return
            marker = page.get("marker")
            if not isinstance(marker, str) or not marker:
                raise _malformed(response, "a next page without a marker to ask for it")
            if marker in markers:
                return
            markers.add(marker)
            request = rq.next_page("/runs", marker)

    async def _list_ended(self, client: FlowsClient) -> None:
        """List the terminal runs of the tracked flows completed in the window.

        The listing is newest completion first, so its first run is the latest completion when
        the poll began: a run finishing while the pages are read completes after it, and the
        next window (which starts there, less the overlap) still holds it.
        """
        if self._since is None:
            starts = [e.start for e in self._entries.values() if e.start is not None]
            self._since = min(starts) if starts else None
        previous_high = self._high
        latest: datetime | None = None
        flow_ids = sorted(self._flows)
        since = self._since
        for start in range(0, len(flow_ids), _FLOWS_PER_QUERY):
            first = rq.list_runs(
                filter_flow_id=flow_ids[start : start + _FLOWS_PER_QUERY],
                filter_status=sorted(RunStatus.TERMINAL),
                filter_completion_time=(since, None) if since else None,
                orderby="completion_time DESC",
                per_page=_PER_PAGE,
            )
            head = [True]

            async def page(runs: list[Any], response: Response, head: list[bool] = head) -> None:
                nonlocal latest
                if head[0] and runs:
                    completed = _completion_of(runs[0])
                    if completed is not None:
                        latest = min(latest, completed) if latest else completed
                head[0] = False
                await self._take(runs, response, previous_high)

            await self._walk(client, first, page)
        if latest is not None:
            self._high = max(self._high, latest) if self._high else latest
            candidate = latest - self._overlap
            if self._since is None or candidate > self._since:
                self._since = candidate

    async def _list_inactive(self, client: FlowsClient) -> None:
        """List the tracked flows' INACTIVE runs (no window: a run may pause at any time)."""
        flow_ids = sorted(self._flows)
        for start in range(0, len(flow_ids), _FLOWS_PER_QUERY):
            first = rq.list_runs(
                filter_flow_id=flow_ids[start : start + _FLOWS_PER_QUERY],
                filter_status=RunStatus.INACTIVE,
                per_page=_PER_PAGE,
            )

            async def page(runs: list[Any], response: Response) -> None:
                await self._take(runs, response, None)

            await self._walk(client, first, page)

    async def _take(self, runs: list[Any], response: Response, high: datetime | None) -> None:
        """Record the tracked runs of one page; convert only those that ended."""
        entries = self._entries
        ended: list[tuple[str, _Entry, Any]] = []
        for number, item in enumerate(runs, 1):
            if number % (_CHUNK * 20) == 0:
                await anyio.lowlevel.checkpoint()
            run_id = item.get("run_id") if type(item) is dict else None
            if type(run_id) is not str:
                raise _malformed(response, f"item {number - 1} of its runs has no run_id")
            entry = entries.get(run_id)
            if entry is None:
                continue
            self._saw(run_id, entry)
            entry.status = item.get("status") if isinstance(item.get("status"), str) else None
            ended.append((run_id, entry, item))
        if len(ended) > _CHUNK:
            converted = await anyio.to_thread.run_sync(_convert_all, ended, response)
        else:
            converted = _convert_all(ended, response)
        for number, (run_id, entry, run, completed) in enumerate(converted, 1):
            if number % _CHUNK == 0:
                await anyio.lowlevel.checkpoint()
            if high is not None and completed is not None and completed < high:
                lag = high - completed
                self._overlap = min(_OVERLAP_MAX, max(self._overlap, 2 * lag))
            if self._entries.get(run_id) is entry:
                self._deliver(run_id, entry, run)


def _convert_all(
    ended: list[tuple[str, _Entry, Any]], response: Response
) -> list[tuple[str, _Entry, Run, datetime | None]]:
    """Each run as a :class:`Run`, with its completion time (read here, from the decoded
    document: a parsed run would decode its compact document again to give it)."""
    return [
        (
            run_id,
            entry,
            structure(item, Run, method=response.method, url=response.url),
            _completion_of(item),
        )
        for run_id, entry, item in ended
    ]


def _malformed(response: Response, what: str) -> ResponseParseError:
    """The error of a listing page that cannot be read as the service writes it."""
    return response.redact(
        ResponseParseError(
            f"unexpected RunPage document: {what}",
            text=response.text(),
            method=response.method,
            url=response.url,
        )
    )


def _completion_of(item: Any) -> datetime | None:
    value = item.get("completion_time") if isinstance(item, dict) else None
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime(value)
    except (ValueError, TypeError):
        return None


# -- one tracker per client, or per shared pool and identity ---------------------------------

_SHARED: weakref.WeakKeyDictionary[object, dict[tuple[str, object], RunTracker]] = (
    weakref.WeakKeyDictionary()
)


def _identity(client: FlowsClient) -> object:
    """Who the client's requests are sent as: a digest of a fixed token, else the identity of
    the authorizer object (two clients given the same authorizer share a tracker; the tracker
    holds the object while anyone waits, so its id stays its own)."""
    authorizer = client.authorizer
    if isinstance(authorizer, AccessTokenAuthorizer):
        header = authorizer._header
        return sha256(header.encode("utf-8", "surrogatepass")).hexdigest()
    return ("authorizer", id(authorizer))


def tracker_of(client: FlowsClient) -> RunTracker:
    """The tracker of ``client``: its own when it owns its connection pool; otherwise the one
    of its shared ``http_client``, service URL and identity, so that per-request clients of a
    service (one per handler, on one shared pool) have their waits coalesced."""
    own: RunTracker | None = client.__dict__.get("_run_tracker")
    if own is not None:
        return own
    transport = client._transport
    if transport._owns_client:
        own = RunTracker()
        client.__dict__["_run_tracker"] = own
        return own
    by_key = _SHARED.setdefault(transport.http_client, {})
    key = (transport.base_url, _identity(client))
    tracker = by_key.get(key)
    if tracker is None:
        tracker = by_key[key] = RunTracker()
        tracker.holds = client.authorizer

        def forget(by_key: dict[tuple[str, object], RunTracker] = by_key) -> None:
            if by_key.get(key) is tracker:
                del by_key[key]

        tracker.on_idle = forget
    return tracker
