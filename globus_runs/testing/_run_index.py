"""Sorted views of the runs, so that ``GET /runs`` reads a page, not every run.

A campaign has 100,000 runs; a page has 20. The listing walks runs in the order asked
for, from the marker's position on, and stops once it has one run more than a page:

- by start time (the default order), over all runs or over the runs of the flows asked
  for (``filter_flow_id``), with ``filter_start_time`` as bounds of the walk;
- by completion time, over the runs that have ended, when the query leaves out runs that
  have not (``filter_completion_time``, or only terminal ``filter_status``), with
  ``filter_completion_time`` as bounds;
- by start time over the runs not known to have ended, when only running statuses are
  asked for (``ACTIVE``, ``INACTIVE``), passing over the runs that never pause when only
  ``INACTIVE`` is.

Which runs have ended is kept up to date lazily: each run's planned end (`planned_end`)
waits in a heap until the clock passes it, and a run whose timeline changes (resumed,
canceled, answered: `FlowsState.retimed` says so) is planned again. Every other filter is
checked on the runs walked, with the same `RunQuery.matches` as the unindexed listing
(`select_page`), which stays the reference and answers every other order.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from ._listing import RunQuery, SortValue, micros
from ._records import RunRecord
from ._timeline import TERMINAL_STATUSES, may_pause, planned_end

Key = tuple[int, int]  # (a time in microseconds since the epoch, the run's seq)

# Past this many runs ending at once, the running lists are rebuilt rather than edited.
_ONE_BY_ONE = 64


class SortedKeys:
    """Keys kept in ascending order."""

    def __init__(self) -> None:
        self.keys: list[Key] = []

    def add(self, key: Key) -> None:
        """Insert ``key`` (runs mostly arrive in order: that is an append)."""
        if not self.keys or self.keys[-1] < key:
            self.keys.append(key)
        else:
            bisect.insort(self.keys, key)

    def remove(self, key: Key) -> None:
        """Remove ``key`` if present."""
        index = bisect.bisect_left(self.keys, key)
        if index < len(self.keys) and self.keys[index] == key:
            del self.keys[index]

    def discard(self, seqs: set[int]) -> None:
        """Remove the keys of these runs, in one pass."""
        self.keys = [key for key in self.keys if key[1] not in seqs]

    def walk(
        self, descending: bool, after: Key | None, low: int | None, high: int | None
    ) -> Iterator[Key]:
        """The keys strictly after ``after`` in the walk's direction, whose time is within
        ``[low, high)`` (either side ``None``: open)."""
        keys = self.keys
        begin = 0 if low is None else bisect.bisect_left(keys, (low, -1))
        end = len(keys) if high is None else bisect.bisect_left(keys, (high, -1))
        if descending:
            if after is not None:
                end = min(end, bisect.bisect_left(keys, after))
            return (keys[i] for i in range(end - 1, begin - 1, -1))
        if after is not None:
            begin = max(begin, bisect.bisect_right(keys, after))
        return (keys[i] for i in range(begin, end))


class _Ordered:
    """One order of runs: all of them, and the runs of each flow."""

    def __init__(self) -> None:
        self.all = SortedKeys()
        self.by_flow: dict[str, SortedKeys] = {}

    def add(self, key: Key, flow_id: str) -> None:
        self.all.add(key)
        self.by_flow.setdefault(flow_id, SortedKeys()).add(key)

    def remove(self, key: Key, flow_id: str) -> None:
        self.all.remove(key)
        flow = self.by_flow.get(flow_id)
        if flow is not None:
            flow.remove(key)
            if not flow.keys:
                del self.by_flow[flow_id]

    def discard(self, seqs: set[int], flow_ids: set[str]) -> None:
        """Remove the keys of these runs (of these flows), in one pass per list."""
        self.all.discard(seqs)
        for flow_id in flow_ids:
            flow = self.by_flow.get(flow_id)
            if flow is not None:
                flow.discard(seqs)
                if not flow.keys:
                    del self.by_flow[flow_id]

    def walk(
        self,
        flow_ids: Sequence[str],
        descending: bool,
        after: Key | None,
        bounds: tuple[int | None, int | None],
    ) -> Iterable[Key]:
        if not flow_ids:
            return self.all.walk(descending, after, *bounds)
        walks = [
            self.by_flow[flow_id].walk(descending, after, *bounds)
            for flow_id in dict.fromkeys(flow_ids)
            if flow_id in self.by_flow
        ]
        return heapq.merge(*walks, reverse=descending)


class RunIndex:
    """The runs of one Flows service, by start time and (once ended) by completion time."""

    def __init__(self) -> None:
        self.runs: dict[int, RunRecord] = {}  # by seq
        self._starts = _Ordered()
        self._running = _Ordered()  # by start time, the runs not known to have ended
        self._ends = _Ordered()
        self._ended: dict[int, Key] = {}  # seq -> its key in _ends
        self._planned: list[tuple[int, int, int]] = []  # heap of (end, seq, version)
        self._versions: dict[int, int] = {}
        self._changed: set[int] = set()

    def add(self, run: RunRecord) -> None:
        """Index a new run."""
        self.runs[run.seq] = run
        key = (micros(run.start_time), run.seq)
        self._starts.add(key, run.flow.flow_id)
        self._running.add(key, run.flow.flow_id)
        self._plan(run)

    def remove(self, run: RunRecord) -> None:
        """Forget a run (released)."""
        self.runs.pop(run.seq, None)
        self._unend(run)
        key = (micros(run.start_time), run.seq)
        self._starts.remove(key, run.flow.flow_id)
        self._running.remove(key, run.flow.flow_id)
        self._versions.pop(run.seq, None)
        self._changed.discard(run.seq)

    def changed(self, run: RunRecord) -> None:
        """Note that what decides ``run``'s timeline changed (resumed, canceled, answered)."""
        self._changed.add(run.seq)

    def _unend(self, run: RunRecord) -> None:
        key = self._ended.pop(run.seq, None)
        if key is not None:
            self._ends.remove(key, run.flow.flow_id)
            self._running.add((micros(run.start_time), run.seq), run.flow.flow_id)

    def _plan(self, run: RunRecord) -> None:
        version = self._versions.get(run.seq, 0) + 1
        self._versions[run.seq] = version
        self._unend(run)
        end = planned_end(run)
        if end is not None:
            heapq.heappush(self._planned, (micros(end[0]), run.seq, version))

    def settle(self, now: datetime) -> None:
        """Bring the ended runs up to ``now`` (the clock never goes back)."""
        for seq in self._changed:
            run = self.runs.get(seq)
            if run is not None:
                self._plan(run)
        self._changed.clear()
        limit = micros(now)
        planned = self._planned
        ended: set[int] = set()
        while planned and planned[0][0] <= limit:
            end, seq, version = heapq.heappop(planned)
            if self._versions.get(seq) == version:
                key = (end, seq)
                self._ended[seq] = key
                self._ends.add(key, self.runs[seq].flow.flow_id)
                ended.add(seq)
        if len(ended) > _ONE_BY_ONE:
            self._running.discard(ended, {self.runs[seq].flow.flow_id for seq in ended})
        else:
            for seq in ended:
                run = self.runs[seq]
                self._running.remove((micros(run.start_time), seq), run.flow.flow_id)

    def walk(
        self, query: RunQuery, after: Sequence[SortValue] | None, now: datetime
    ) -> Iterator[RunRecord] | None:
        """The runs that may match ``query``, in its order, after ``after``; ``None`` when
        the index cannot give that order (the caller then sorts every run)."""
        if len(query.orderby) != 1:
            return None
        field, descending = query.orderby[0]
        position: Key | None = None
        if after is not None:
            value, seq = after
            if not isinstance(value, int) or not isinstance(seq, int):
                return None
            position = (value, seq)
        if field == "start_time":
            order, bounds = self._starts, _bounds(query.start_time)
            if query.statuses and TERMINAL_STATUSES.isdisjoint(query.statuses):
                self.settle(now)
                order = self._running  # only running runs may match
        elif field == "completion_time" and (
            query.completion_time is not None
            or (query.statuses and TERMINAL_STATUSES.issuperset(query.statuses))
        ):
            self.settle(now)
            order, bounds = self._ends, _bounds(query.completion_time)
        else:
            return None
        keys = order.walk(query.flow_ids, descending, position, bounds)
        runs = (self.runs[seq] for _, seq in keys)
        if set(query.statuses) == {"INACTIVE"}:
            return (run for run in runs if may_pause(run))  # the others never are
        return runs


def _bounds(
    bounds: tuple[datetime | None, datetime | None] | None,
) -> tuple[int | None, int | None]:
    if bounds is None:
        return None, None
    low, high = bounds
    return (None if low is None else micros(low), None if high is None else micros(high))
