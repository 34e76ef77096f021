"""Sorted views of the runs, so that ``GET /runs`` reads a page, not every run.

A campaign has 100,000 runs; a page has 20. The listing walks runs in the order asked
for, from the marker's position on, and stops once it has one run more than a page. Every
field ``orderby`` may name has its sorted lists, over all runs and over the runs of each
flow (``filter_flow_id``):

- ``start_time`` (the default order): by start time, with ``filter_start_time`` as bounds
  of the walk; over the runs not known to have ended when only running statuses are asked
  for (``ACTIVE``, ``INACTIVE``), passing over the runs that never pause when only
  ``INACTIVE`` is;
- ``completion_time``: the runs that have ended by completion time (with
  ``filter_completion_time`` as bounds), then (or, descending, before them) the runs still
  going, which have none, by creation;
- ``id``: by run id; ``label``: the labelled runs by label, then (descending: before them)
  the unlabelled ones, by creation;
- ``status``: the runs that have ended, by their final status, each status by creation;
  the runs still going are one list, by creation, read for ``ACTIVE`` and again for
  ``INACTIVE`` (their status is read on the way: it changes with time alone).

Ties on a field are broken by creation (``seq``) in the direction of the order's first
field, as `select_page` breaks them. An order of several fields is walked by its first
field, a group of runs tying on it at a time: a small group (at most `_SORT_AT_MOST` runs)
is sorted by the other fields; a larger one (most runs sharing a status, or no label) is
read through the next field's sorted list, keeping the runs of the group, and so on field
by field; the last field's ties are read by creation in the first field's direction (the
same list walked the other way when the directions differ). A page thus reads about a page
of runs, plus at most `_SORT_AT_MOST` per field, plus, when a large group's runs lie far
along the next field's list, the runs passed over to reach them.

A walk is quick when matches are dense among the runs walked; a filter that is not the
order's field and leaves few runs would make it read every run. So a walk reads at most
`_TRY_AT_MOST` runs first; when too few of them match as the indexes tell, each filter the
indexes can count is counted (`RunIndex._candidates`): a status (the runs that
ended so, by status; the runs still going, only those that may pause for ``INACTIVE``), a
start or completion window (a range of the start or end list), labels (the distinct labels
containing one of the texts, searched in one text of them all, then the label list's range
of each), the caller's roles (the runs it holds a role on through the run, kept per
principal, and the runs of the flows it manages or monitors; without ``filter_roles``, every
role: the runs it may see). ``filter_flow_title`` narrows the flows walked, like
``filter_flow_id``. The filter leaving the fewest runs is taken: at most `_GATHER_AT_MOST`
runs are sorted in the query's order (`_sorted`, from the marker's position); at most
`_FILTER_AT_MOST` are narrowed by the other filters as the indexes tell (no status read),
then sorted if few enough, or the order's lists walked passing over the others by a set
look-up. Past that, every filter leaves a fifth of the runs or more and the lists are walked
on, passing over the runs the indexes tell do not match before any status is read.

Which runs have ended is kept up to date lazily: each run's planned end (`planned_end`)
waits in a heap until the clock passes it, and a run whose timeline changes (resumed,
canceled, answered: `FlowsState.retimed` says so) is planned again; a run whose label,
managers or monitors change is moved (`updated`). Every filter is checked on the runs walked
or sorted, with the same `RunQuery.matches` as the unindexed listing (`select_page`), which
stays the reference.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import itertools
import operator
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import attrs

from ._listing import (
    RUN_ROLES,
    RUN_STATUSES,
    RunQuery,
    SortValue,
    compare_sort_keys,
    contains_any,
    micros,
)
from ._records import FlowRecord, RunRecord
from ._timeline import TERMINAL_STATUSES, may_pause, planned_end, status_at

# (the field's value: a time in microseconds since the epoch, an id, a label, or the seq
# itself for lists by creation; the run's seq)
Key = tuple[Any, int]
Bounds = tuple[int | None, int | None]
_NO_BOUNDS: Bounds = (None, None)
# A seq before and after every run's: a position at the start of a field's value.
_BEFORE_ALL, _AFTER_ALL = -1, sys.maxsize

# Past this many runs ending at once, the running lists are rebuilt rather than edited.
_ONE_BY_ONE = 64

# A group of runs tying on a field of a several-field order is sorted by the other fields
# when it has at most this many runs; a larger one is read through the next field's list.
_SORT_AT_MOST = 500

# A query one of whose filters leaves at most this many runs (as the indexes count them) is
# answered by sorting those runs; otherwise its order's lists are walked, matches being then
# dense enough among the runs walked.
_GATHER_AT_MOST = 3000

# When the filter leaving the fewest runs leaves more, but at most this many, they are read
# and the other filters checked on them as the indexes tell (no status read, no view made):
# sorted if at most `_GATHER_AT_MOST` are left, else the order's lists are walked passing
# over the others at the cost of a set look-up. Past it, each filter leaves a fifth of the
# runs or more, and their matches are taken as dense enough to walk for.
_FILTER_AT_MOST = 20_000

# Before counting, a walk reads at most this many runs: when it finds a page's worth of runs
# the indexes tell match among them, it goes on.
_TRY_AT_MOST = 1000

# The roles a caller holds on a run through the run itself, and through its flow.
_RUN_ROLES = ("run_owner", "run_manager", "run_monitor")
_FLOW_ROLES = {"flow_run_manager": "run_managers", "flow_run_monitor": "run_monitors"}

# The fields a run may have no value for.
_NULLABLE = frozenset({"label", "completion_time"})

# What the runs a walk keeps must have: (a field, how a run's value of it is read, the value).
Same = tuple[tuple[str, Callable[[RunRecord], SortValue], SortValue], ...]


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
    """The runs of one Flows service, in the order of each field ``GET /runs`` sorts on."""

    def __init__(self) -> None:
        self.runs: dict[int, RunRecord] = {}  # by seq
        self._starts = _Ordered()
        self._ids = _Ordered()
        self._labels = _Ordered()  # the labelled runs, by label
        self._unlabelled = _Ordered()  # by seq
        self._running = _Ordered()  # by start time, the runs not known to have ended
        self._running_seqs = _Ordered()  # the same runs, by seq
        self._ends = _Ordered()
        self._ended_as = {status: _Ordered() for status in TERMINAL_STATUSES}  # by seq
        self._ended: dict[int, tuple[Key, str]] = {}  # seq -> its key in _ends, its status
        self._planned: list[tuple[int, int, int, str]] = []  # heap of (end, seq, version, status)
        self._versions: dict[int, int] = {}
        self._changed: set[int] = set()
        self._pausable: set[int] = set()  # the runs not known to have ended that may pause
        # The flow records the runs of each flow id were started with (titles, flow roles).
        self._flows: dict[str, list[FlowRecord]] = {}
        # The runs each principal holds a role on through the run: (role, principal) -> seqs.
        self._holders: dict[tuple[str, str], set[int]] = {}
        # seq -> its keys there besides its owner's, for the runs with managers or monitors
        self._held: dict[int, tuple[tuple[str, str], ...]] = {}
        self._distinct = _DistinctLabels()

    def add(self, run: RunRecord) -> None:
        """Index a new run."""
        self.runs[run.seq] = run
        flow_id = run.flow.flow_id
        records = self._flows.setdefault(flow_id, [])
        if not any(record is run.flow for record in records):
            records.append(run.flow)
        self._holders.setdefault(("run_owner", run.owner), set()).add(run.seq)
        self._hold(run)
        key = (micros(run.start_time), run.seq)
        self._starts.add(key, flow_id)
        self._running.add(key, flow_id)
        self._running_seqs.add((run.seq, run.seq), flow_id)
        self._ids.add((run.run_id, run.seq), flow_id)
        self._add_label(run)
        self._plan(run)

    def remove(self, run: RunRecord) -> None:
        """Forget a run (released)."""
        self._unend(run)
        self.runs.pop(run.seq, None)
        flow_id = run.flow.flow_id
        key = (micros(run.start_time), run.seq)
        self._starts.remove(key, flow_id)
        self._running.remove(key, flow_id)
        self._running_seqs.remove((run.seq, run.seq), flow_id)
        self._ids.remove((run.run_id, run.seq), flow_id)
        self._remove_label(run, run.label)
        self._unhold(run.seq)
        self._release(("run_owner", run.owner), run.seq)
        self._pausable.discard(run.seq)
        self._versions.pop(run.seq, None)
        self._changed.discard(run.seq)

    def updated(self, run: RunRecord, old_label: str | None) -> None:
        """Note that ``run``'s label (``old_label`` before), managers or monitors may have
        changed."""
        if run.seq not in self.runs:
            return
        if old_label != run.label:
            self._remove_label(run, old_label)
            self._add_label(run)
        if self._held.get(run.seq, ()) != _held_keys(run):
            self._unhold(run.seq)
            self._hold(run)

    def _hold(self, run: RunRecord) -> None:
        keys = _held_keys(run)
        if keys:
            self._held[run.seq] = keys
        for key in keys:
            self._holders.setdefault(key, set()).add(run.seq)

    def _unhold(self, seq: int) -> None:
        for key in self._held.pop(seq, ()):
            self._release(key, seq)

    def _release(self, key: tuple[str, str], seq: int) -> None:
        seqs = self._holders.get(key)
        if seqs is not None:
            seqs.discard(seq)
            if not seqs:
                del self._holders[key]

    def _add_label(self, run: RunRecord) -> None:
        if run.label is None:
            self._unlabelled.add((run.seq, run.seq), run.flow.flow_id)
        else:
            self._labels.add((run.label, run.seq), run.flow.flow_id)
            self._distinct.add(run.label)

    def _remove_label(self, run: RunRecord, label: str | None) -> None:
        if label is None:
            self._unlabelled.remove((run.seq, run.seq), run.flow.flow_id)
        else:
            self._labels.remove((label, run.seq), run.flow.flow_id)
            self._distinct.remove(label)

    def changed(self, run: RunRecord) -> None:
        """Note that what decides ``run``'s timeline changed (resumed, canceled, answered)."""
        self._changed.add(run.seq)

    def _unend(self, run: RunRecord) -> None:
        ended = self._ended.pop(run.seq, None)
        if ended is not None:
            key, status = ended
            flow_id = run.flow.flow_id
            self._ends.remove(key, flow_id)
            self._ended_as[status].remove((run.seq, run.seq), flow_id)
            self._running.add((micros(run.start_time), run.seq), flow_id)
            self._running_seqs.add((run.seq, run.seq), flow_id)

    def _plan(self, run: RunRecord) -> None:
        version = self._versions.get(run.seq, 0) + 1
        self._versions[run.seq] = version
        self._unend(run)
        if may_pause(run):
            self._pausable.add(run.seq)
        else:
            self._pausable.discard(run.seq)
        end = planned_end(run)
        if end is not None:
            heapq.heappush(self._planned, (micros(end[0]), run.seq, version, end[1]))

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
            end, seq, version, status = heapq.heappop(planned)
            if self._versions.get(seq) == version:
                key = (end, seq)
                flow_id = self.runs[seq].flow.flow_id
                self._ended[seq] = (key, status)
                self._ends.add(key, flow_id)
                self._ended_as[status].add((seq, seq), flow_id)
                self._pausable.discard(seq)
                ended.add(seq)
        if len(ended) > _ONE_BY_ONE:
            flow_ids = {self.runs[seq].flow.flow_id for seq in ended}
            self._running.discard(ended, flow_ids)
            self._running_seqs.discard(ended, flow_ids)
        else:
            for seq in ended:
                run = self.runs[seq]
                self._running.remove((micros(run.start_time), seq), run.flow.flow_id)
                self._running_seqs.remove((seq, seq), run.flow.flow_id)

    def walk(
        self,
        query: RunQuery,
        after: Sequence[SortValue] | None,
        now: datetime,
        caller: str | None = None,
    ) -> Iterator[RunRecord] | None:
        """The runs that may match ``query`` (as ``caller`` sees them, when given), in its
        order, strictly after ``after`` (a marker's position: the run's value for each
        field, then its seq); ``None`` when ``after`` does not fit the order (the caller
        then sorts every run).

        When one filter (or a few together) leaves few runs, as the indexes count them,
        those runs are sorted; otherwise the order's lists are walked."""
        if after is not None and not (
            isinstance(after[-1], int)
            and all(
                _placeable(field, value)
                for (field, _), value in zip(query.orderby, after, strict=False)
            )
        ):
            return None
        self.settle(now)
        values = self._values(now)
        position = None if after is None else tuple(after)
        flow_ids = self._flow_ids(query)
        if flow_ids is not None:
            if not flow_ids:
                return iter(())
            query = attrs.evolve(query, flow_ids=flow_ids)
        walk = self._ordered(query, 0, (), position, values, now, None)
        sources = list(self._candidates(query, caller))
        if not sources:
            return walk
        # Walk a little: when matches are dense (as the indexes tell), the walk finds a page.
        checks = [source.keeps for source in sources]
        tried: list[RunRecord] = []
        kept = 0
        for run in walk:
            tried.append(run)
            if all(keeps(run) for keeps in checks):
                kept += 1
                if kept > query.per_page:
                    return itertools.chain(tried, walk)
            if len(tried) >= _TRY_AT_MOST:
                break
        else:
            return iter(tried)
        few = self._few(sources)
        if few is None:  # walk on, passing over what the indexes tell does not match
            return itertools.chain(tried, (run for run in walk if all(c(run) for c in checks)))
        if len(few) <= _GATHER_AT_MOST:
            return iter(_sorted(few, query.orderby, query.orderby[0][1], position, values))
        # Too many to sort: walk the order's lists, passing over the runs not among them
        # at the cost of a set look-up.
        keep = {run.seq for run in few}
        return self._ordered(query, 0, (), position, values, now, keep)

    def _flow_ids(self, query: RunQuery) -> tuple[str, ...] | None:
        """The flows whose runs may match ``query`` (``filter_flow_id`` and
        ``filter_flow_title``), among those having runs; ``None``: every flow."""
        if not query.flow_ids and not query.flow_titles:
            return None
        flow_ids = query.flow_ids or tuple(self._flows)
        narrowed = tuple(
            flow_id
            for flow_id in dict.fromkeys(flow_ids)
            if flow_id in self._starts.by_flow
            and (
                not query.flow_titles
                or any(
                    contains_any(record.title, query.flow_titles) for record in self._flows[flow_id]
                )
            )
        )
        if not query.flow_ids and len(narrowed) == len(self._starts.by_flow):
            return None  # every flow: walk the lists of all runs
        return narrowed

    def _few(self, sources: list[_Source]) -> list[RunRecord] | None:
        """The runs among which are all those the ``sources`` keep, when the indexes tell
        at most `_FILTER_AT_MOST` of them; ``None`` when they cannot tell so few."""
        fewest = min(sources, key=lambda source: source.count)
        if fewest.count > _FILTER_AT_MOST:
            return None
        runs = [self.runs[seq] for seq in fewest.seqs()]
        if len(runs) > _GATHER_AT_MOST:
            # Keep those the other filters keep, as the indexes tell.
            checks = [source.keeps for source in sources if source is not fewest]
            runs = [run for run in runs if all(keeps(run) for keeps in checks)]
        return runs

    def _candidates(self, query: RunQuery, caller: str | None) -> Iterator[_Source]:
        """For each filter of ``query`` the indexes can count on, the runs it leaves (a
        superset of those matching it, without duplicates)."""
        flow_ids = query.flow_ids

        def lists(ordered: _Ordered) -> list[SortedKeys]:
            if not flow_ids:
                return [ordered.all]
            return [ordered.by_flow[flow_id] for flow_id in flow_ids if flow_id in ordered.by_flow]

        if flow_ids:  # walked through their own lists: only checked
            wanted = set(flow_ids)
            yield _Source(sys.maxsize, list, lambda run: run.flow.flow_id in wanted)
        if query.statuses:
            yield self._in_statuses(set(query.statuses), lists)
        if query.start_time is not None:
            yield self._started_within(_bounds(query.start_time), lists)
        if query.completion_time is not None:
            yield self._ended_within(_bounds(query.completion_time), lists)
        if query.labels:
            needles = query.labels

            def labelled(run: RunRecord) -> bool:
                return contains_any(run.label, needles)

            def ranges() -> list[Range] | None:  # too many to read: None, only checked
                labels = self._distinct.matching(needles, _FILTER_AT_MOST)
                if labels is None:
                    return None
                return [_labelled(keys, label) for label in labels for keys in lists(self._labels)]

            yield _Source.later(ranges, labelled)
        if caller is not None:
            yield self._held_by(caller, query.roles or RUN_ROLES, flow_ids)

    def _started_within(
        self, bounds: Bounds, lists: Callable[[_Ordered], list[SortedKeys]]
    ) -> _Source:
        low, high = bounds
        return _Source.of(
            [_within(keys, low, high) for keys in lists(self._starts)],
            lambda run: _between(micros(run.start_time), low, high),
        )

    def _ended_within(
        self, bounds: Bounds, lists: Callable[[_Ordered], list[SortedKeys]]
    ) -> _Source:
        low, high = bounds
        ended = self._ended

        def keeps(run: RunRecord) -> bool:
            known = ended.get(run.seq)
            return known is not None and _between(known[0][0], low, high)

        return _Source.of([_within(keys, low, high) for keys in lists(self._ends)], keeps)

    def _in_statuses(
        self, statuses: set[str], lists: Callable[[_Ordered], list[SortedKeys]]
    ) -> _Source:
        """The runs that may have one of ``statuses``: those that ended so, and those still
        going (only those that may pause for ``INACTIVE`` alone)."""
        ended_as = TERMINAL_STATUSES & statuses
        ranges = [_whole(keys) for status in ended_as for keys in lists(self._ended_as[status])]
        ended, pausable = self._ended, self._pausable
        if "ACTIVE" in statuses:
            ranges += [_whole(keys) for keys in lists(self._running_seqs)]

            def keeps(run: RunRecord) -> bool:
                known = ended.get(run.seq)
                return known is None or known[1] in ended_as

            return _Source.of(ranges, keeps)

        def keeps_paused(run: RunRecord) -> bool:
            known = ended.get(run.seq)
            return run.seq in pausable if known is None else known[1] in ended_as

        source = _Source.of(ranges, keeps_paused)
        if "INACTIVE" not in statuses:
            return source
        return _Source(
            source.count + len(pausable), lambda: [*source.seqs(), *pausable], keeps_paused
        )

    def _held_by(self, caller: str, roles: Sequence[str], flow_ids: Sequence[str]) -> _Source:
        """The runs on which ``caller`` holds one of ``roles``."""
        sets = [
            held
            for role in _RUN_ROLES
            if role in roles and (held := self._holders.get((role, caller))) is not None
        ]
        attributes = [attribute for role, attribute in _FLOW_ROLES.items() if role in roles]
        flows = {
            flow_id
            for flow_id in (flow_ids or self._flows)
            if flow_id in self._starts.by_flow
            and any(
                caller in getattr(record, attribute)
                for record in self._flows[flow_id]
                for attribute in attributes
            )
        }
        ranges = [_whole(self._starts.by_flow[flow_id]) for flow_id in flows]
        count = sum(len(held) for held in sets) + sum(end - begin for _, begin, end in ranges)

        def seqs() -> Iterable[int]:
            if len(sets) == 1 and not ranges:
                return sets[0]
            union: set[int] = set().union(*sets)
            union.update(_Source.of(ranges, keeps).seqs())
            return union

        def keeps(run: RunRecord) -> bool:
            return run.flow.flow_id in flows or any(run.seq in held for held in sets)

        return _Source(count, seqs, keeps)

    def _values(self, now: datetime) -> dict[str, Callable[[RunRecord], SortValue]]:
        """How a run's value for each field is read (the ended runs settled up to ``now``),
        as `RunView` holds it."""
        ended = self._ended

        def status(run: RunRecord) -> SortValue:
            known = ended.get(run.seq)
            return status_at(run, now)[0] if known is None else known[1]

        def completion_time(run: RunRecord) -> SortValue:
            known = ended.get(run.seq)
            return None if known is None else known[0][0]

        return {
            "id": operator.attrgetter("run_id"),
            "start_time": lambda run: micros(run.start_time),
            "label": operator.attrgetter("label"),
            "status": status,
            "completion_time": completion_time,
        }

    def _ordered(
        self,
        query: RunQuery,
        level: int,
        same: Same,
        position: tuple[SortValue, ...] | None,
        values: dict[str, Callable[[RunRecord], SortValue]],
        now: datetime,
        keep: set[int] | None,
    ) -> Iterator[RunRecord]:
        """The runs having ``same`` in the order of ``query``'s fields from ``level`` on
        (ties by seq in the first field's direction), strictly after ``position`` (the
        values of those fields, then the seq)."""
        field, descending = query.orderby[level]
        first_descending = query.orderby[0][1]
        last = level == len(query.orderby) - 1
        value_of = values[field]
        if last and descending == first_descending:
            # The field's list holds its ties by seq, in the direction wanted.
            start = None if position is None else (position[0], _as_int(position[-1]))
            yield from self._keeping(field, query, same, descending, start, now, keep)
            return
        begin = _BEFORE_ALL if not descending else _AFTER_ALL
        runs = self._keeping(
            field,
            query,
            same,
            descending,
            None if position is None else (position[0], begin),
            now,
            keep,
        )
        pending = next(runs, None)
        while pending is not None:
            value = value_of(pending)
            group = [pending]
            pending = None
            for run in runs:
                if value_of(run) != value:
                    pending = run
                    break
                group.append(run)
                if len(group) > _SORT_AT_MOST:
                    break
            inner = None
            if position is not None and value == position[0]:
                inner = position[1:]
            if len(group) <= _SORT_AT_MOST:
                yield from _sorted(
                    group, query.orderby[level + 1 :], first_descending, inner, values
                )
                continue
            # Too many to sort: read the group through the next field's list (the last
            # field: its own list, by seq the other way), then go on after the group.
            if last:
                seq = _AFTER_ALL if first_descending else _BEFORE_ALL
                start = (value, seq if inner is None else _as_int(inner[-1]))
                walked = self._keeping(field, query, same, first_descending, start, now, keep)
                for run in walked:
                    if value_of(run) != value:
                        break
                    yield run
            else:
                inner_same = (*same, (field, value_of, value))
                yield from self._ordered(query, level + 1, inner_same, inner, values, now, keep)
            end = _AFTER_ALL if not descending else _BEFORE_ALL
            runs = self._keeping(field, query, same, descending, (value, end), now, keep)
            pending = next(runs, None)

    def _keeping(
        self,
        field: str,
        query: RunQuery,
        same: Same,
        descending: bool,
        position: tuple[SortValue, int] | None,
        now: datetime,
        keep: set[int] | None,
    ) -> Iterator[RunRecord]:
        """The runs having ``same`` in the order of ``field`` (ties by seq, in the same
        direction), strictly after ``position``."""
        statuses = [value for name, _, value in same if name == "status"]
        if statuses:  # only runs of that status are kept: walk only those
            query = attrs.evolve(query, statuses=(str(statuses[0]),))
        walks = {
            "start_time": self._by_start,
            "completion_time": self._by_completion,
            "id": self._by_id,
            "label": self._by_label,
            "status": self._by_status,
        }
        runs = walks[field](query, descending, position, now, keep)
        if not same:
            return runs
        if len(same) == 1:  # the usual case, kept cheap: it may pass over many runs
            _, value_of, value = same[0]
            return (run for run in runs if value_of(run) == value)
        return (run for run in runs if all(value_of(run) == value for _, value_of, value in same))

    def _runs(self, keys: Iterable[Key], keep: set[int] | None) -> Iterator[RunRecord]:
        """The runs of ``keys`` (only those in ``keep``, when given)."""
        runs = self.runs
        if keep is None:
            return (runs[seq] for _, seq in keys)
        return (runs[seq] for _, seq in keys if seq in keep)

    def _by_start(
        self,
        query: RunQuery,
        descending: bool,
        position: tuple[SortValue, int] | None,
        now: datetime,
        keep: set[int] | None,
    ) -> Iterator[RunRecord]:
        order = self._starts
        if query.statuses and TERMINAL_STATUSES.isdisjoint(query.statuses):
            order = self._running  # only running runs may match
        keys = order.walk(query.flow_ids, descending, position, _bounds(query.start_time))
        runs = self._runs(keys, keep)
        if set(query.statuses) == {"INACTIVE"}:
            return (run for run in runs if may_pause(run))  # the others never are
        return runs

    def _by_id(
        self,
        query: RunQuery,
        descending: bool,
        position: tuple[SortValue, int] | None,
        now: datetime,
        keep: set[int] | None,
    ) -> Iterator[RunRecord]:
        return self._runs(self._ids.walk(query.flow_ids, descending, position, _NO_BOUNDS), keep)

    def _by_completion(
        self,
        query: RunQuery,
        descending: bool,
        position: tuple[SortValue, int] | None,
        now: datetime,
        keep: set[int] | None,
    ) -> Iterator[RunRecord]:
        ended = _Segment(self._ends, _bounds(query.completion_time))
        # Runs still going have no completion time: last ascending, first descending.
        going = _Segment(self._running_seqs, key_of=_by_seq)
        if query.completion_time is not None or (
            query.statuses and TERMINAL_STATUSES.issuperset(query.statuses)
        ):
            going.kept = False  # none of them may match
        if query.statuses and TERMINAL_STATUSES.isdisjoint(query.statuses):
            ended.kept = False
        return self._valued_then_missing(ended, going, query, descending, position, keep)

    def _by_label(
        self,
        query: RunQuery,
        descending: bool,
        position: tuple[SortValue, int] | None,
        now: datetime,
        keep: set[int] | None,
    ) -> Iterator[RunRecord]:
        labelled = _Segment(self._labels)
        unlabelled = _Segment(self._unlabelled, key_of=_by_seq)
        return self._valued_then_missing(labelled, unlabelled, query, descending, position, keep)

    def _valued_then_missing(
        self,
        valued: _Segment,
        missing: _Segment,
        query: RunQuery,
        descending: bool,
        position: tuple[SortValue, int] | None,
        keep: set[int] | None,
    ) -> Iterator[RunRecord]:
        """The runs having a value for a field, then those without one (no value sorts last
        ascending, first descending), from ``position`` on."""
        segments = [missing, valued] if descending else [valued, missing]
        index = None
        if position is not None:
            index = segments.index(missing if position[0] is None else valued)
        return self._runs(
            _walk_segments(segments, query.flow_ids, descending, position, index), keep
        )

    def _by_status(
        self,
        query: RunQuery,
        descending: bool,
        position: tuple[SortValue, int] | None,
        now: datetime,
        keep: set[int] | None,
    ) -> Iterator[RunRecord]:
        statuses = sorted(RUN_STATUSES, reverse=descending)
        if position is not None:
            statuses = statuses[statuses.index(str(position[0])) :]
        walks: list[Iterable[RunRecord]] = []
        for number, status in enumerate(statuses):
            if query.statuses and status not in query.statuses:
                continue
            start = position if number == 0 else None
            if status in TERMINAL_STATUSES:
                segment = _Segment(self._ended_as[status], key_of=_by_seq)
                keys = segment.walk(query.flow_ids, descending, start)
                walks.append(self._runs(keys, keep))
            else:
                keys = _Segment(self._running_seqs, key_of=_by_seq).walk(
                    query.flow_ids, descending, start
                )
                walks.append(self._going_as(self._runs(keys, keep), status, now))
        return itertools.chain.from_iterable(walks)

    @staticmethod
    def _going_as(runs: Iterator[RunRecord], status: str, now: datetime) -> Iterator[RunRecord]:
        """The runs still going whose status is ``status`` (``ACTIVE`` or ``INACTIVE``)."""
        if status == "INACTIVE":
            runs = (run for run in runs if may_pause(run))  # the others never are
        return (run for run in runs if status_at(run, now)[0] == status)


# A range of one sorted list: the list, and the indexes of its first key and past its last.
Range = tuple[SortedKeys, int, int]


class _Source:
    """The runs one filter leaves, as the indexes tell them: how many (counted when first
    asked), their seqs, and whether it keeps a run."""

    def __init__(
        self,
        count: int | Callable[[], int],
        seqs: Callable[[], Iterable[int]],
        keeps: Callable[[RunRecord], bool],
    ) -> None:
        self._count = count
        self.seqs = seqs
        self.keeps = keeps

    @functools.cached_property
    def count(self) -> int:
        return self._count if isinstance(self._count, int) else self._count()

    @classmethod
    def of(cls, ranges: list[Range], keeps: Callable[[RunRecord], bool]) -> _Source:
        return cls(_counted(ranges), functools.partial(_seqs, ranges), keeps)

    @classmethod
    def later(
        cls, ranges: Callable[[], list[Range] | None], keeps: Callable[[RunRecord], bool]
    ) -> _Source:
        """The runs of ``ranges``, found when first asked (``None``: too many to count)."""
        found = functools.cache(ranges)

        def count() -> int:
            ranges = found()
            return sys.maxsize if ranges is None else _counted(ranges)

        return cls(count, lambda: _seqs(found() or []), keeps)


def _counted(ranges: list[Range]) -> int:
    return sum(end - begin for _, begin, end in ranges)


def _seqs(ranges: list[Range]) -> list[int]:
    return [key[1] for keys, begin, end in ranges for key in keys.keys[begin:end]]


def _between(moment: int, low: int | None, high: int | None) -> bool:
    return (low is None or low <= moment) and (high is None or moment < high)


def _whole(keys: SortedKeys) -> Range:
    return (keys, 0, len(keys.keys))


def _within(keys: SortedKeys, low: int | None, high: int | None) -> Range:
    """The keys whose time is within ``[low, high)``."""
    begin = 0 if low is None else bisect.bisect_left(keys.keys, (low, _BEFORE_ALL))
    end = len(keys.keys) if high is None else bisect.bisect_left(keys.keys, (high, _BEFORE_ALL))
    return (keys, begin, max(begin, end))


def _labelled(keys: SortedKeys, label: str) -> Range:
    """The keys of the runs labelled ``label``."""
    begin = bisect.bisect_left(keys.keys, (label, _BEFORE_ALL))
    return (keys, begin, bisect.bisect_left(keys.keys, (label, _AFTER_ALL), begin))


def _held_keys(run: RunRecord) -> tuple[tuple[str, str], ...]:
    """The (role, principal) pairs holding a role on ``run`` through the run itself, but
    its owner (who never changes)."""
    return (
        *(("run_manager", principal) for principal in run.run_managers),
        *(("run_monitor", principal) for principal in run.run_monitors),
    )


class _DistinctLabels:
    """The distinct labels of the runs, how many runs have each, and a text of them all
    (case-folded, each after a NUL) searched at C speed for a label's substring."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._folded: dict[str, str] = {}
        self._text: str | None = ""
        self._labels: list[str] = []  # in the text's order
        self._starts: list[int] = []  # where each begins in the text

    def add(self, label: str) -> None:
        count = self.counts.get(label, 0)
        self.counts[label] = count + 1
        if not count:
            self._text = None

    def remove(self, label: str) -> None:
        count = self.counts.get(label, 0)
        if count > 1:
            self.counts[label] = count - 1
        elif count:
            del self.counts[label]
            self._folded.pop(label, None)
            self._text = None

    def _search_text(self) -> str:
        if self._text is None:
            folded = self._folded
            self._labels = list(self.counts)
            texts = []
            for label in self._labels:
                text = folded.get(label)
                if text is None:
                    text = folded[label] = label.casefold()
                texts.append(text)
            self._starts = list(itertools.accumulate((len(text) + 1 for text in texts), initial=1))
            self._text = "\0" + "\0".join(texts)
        return self._text

    def matching(self, needles: Iterable[str], limit: int) -> list[str] | None:
        """The labels containing one of ``needles`` (ignoring case); ``None`` once their
        runs are more than ``limit``."""
        found: dict[str, None] = {}
        runs = 0
        for needle in {needle.casefold() for needle in needles}:
            if "\0" in needle:
                return None  # the search text keeps NULs between the labels
            text = self._search_text()
            starts, labels = self._starts, self._labels
            at = text.find(needle, 1)
            while at >= 0:
                number = bisect.bisect_right(starts, at) - 1
                label = labels[number]
                if label not in found:
                    found[label] = None
                    runs += self.counts[label]
                    if runs > limit:
                        return None
                at = text.find(needle, starts[number + 1])
        return list(found)


def _by_seq(position: tuple[SortValue, int]) -> Key:
    """The key of a position in a list by creation: the seq is the value."""
    return (position[1], position[1])


def _as_key(position: tuple[SortValue, int]) -> Key:
    return position


class _Segment:
    """One sorted list an order reads in turn, and how a position maps to its keys."""

    def __init__(
        self,
        ordered: _Ordered,
        bounds: Bounds = _NO_BOUNDS,
        key_of: Callable[[tuple[SortValue, int]], Key] = _as_key,
    ) -> None:
        self.ordered = ordered
        self.bounds = bounds
        self.key_of = key_of
        self.kept = True  # False: no run of it may match, the walk passes over it

    def walk(
        self, flow_ids: Sequence[str], descending: bool, position: tuple[SortValue, int] | None
    ) -> Iterable[Key]:
        after = None if position is None else self.key_of(position)
        return self.ordered.walk(flow_ids, descending, after, self.bounds)


def _walk_segments(
    segments: list[_Segment],
    flow_ids: Sequence[str],
    descending: bool,
    position: tuple[SortValue, int] | None,
    index: int | None,
) -> Iterator[Key]:
    """The keys of the kept ``segments`` in turn, from ``position`` in segment ``index``
    on."""
    first = 0 if index is None else index
    for number, segment in enumerate(segments[first:]):
        if segment.kept:
            yield from segment.walk(flow_ids, descending, position if number == 0 else None)


def _bounds(
    bounds: tuple[datetime | None, datetime | None] | None,
) -> Bounds:
    if bounds is None:
        return _NO_BOUNDS
    low, high = bounds
    return (None if low is None else micros(low), None if high is None else micros(high))


def _placeable(field: str, value: SortValue) -> bool:
    """Whether a marker's ``value`` for ``field`` has a place in the field's lists."""
    if field == "status":
        return value in RUN_STATUSES
    if field == "start_time":
        return isinstance(value, int)
    if field == "completion_time":
        return value is None or isinstance(value, int)
    if field == "id":
        return isinstance(value, str)
    return value is None or isinstance(value, str)  # label


def _as_int(value: SortValue) -> int:
    assert isinstance(value, int)  # a seq, as `RunIndex.walk` checked
    return value


def _missing_last(value: SortValue) -> tuple[bool, SortValue]:
    """A sort key putting ``None`` after every value (before them when reversed)."""
    return (True, 0) if value is None else (False, value)


def _sorted(
    group: list[RunRecord],
    fields: tuple[tuple[str, bool], ...],
    first_descending: bool,
    position: tuple[SortValue, ...] | None,
    values: dict[str, Callable[[RunRecord], SortValue]],
) -> list[RunRecord]:
    """``group`` sorted by ``fields`` (ties by seq in the first field's direction), only the
    runs strictly after ``position`` (their values for ``fields``, then the seq)."""
    getters = [values[field] for field, _ in fields]
    keyed = [([get(run) for get in getters] + [run.seq], run) for run in group]
    desc = [descending for _, descending in fields] + [first_descending]
    if position is not None:
        keyed = [item for item in keyed if compare_sort_keys(item[0], position, desc) > 0]
    # One stable sort per stretch of fields sorted the same way, the least significant first.
    end = len(desc)
    while end > 0:
        begin = end - 1
        while begin > 0 and desc[begin - 1] == desc[end - 1]:
            begin -= 1
        nullable = any(
            fields[number][0] in _NULLABLE for number in range(begin, min(end, len(fields)))
        )
        keyed.sort(key=_stretch_key(begin, end, nullable), reverse=desc[begin])
        end = begin
    return [run for _, run in keyed]


def _stretch_key(
    begin: int, end: int, nullable: bool
) -> Callable[[tuple[list[SortValue], RunRecord]], Any]:
    """A sort key of the values ``begin`` to ``end`` of a keyed run, ``None`` last (when
    some may be ``None``)."""
    if not nullable:
        return lambda item: item[0][begin:end]

    def key(item: tuple[list[SortValue], RunRecord]) -> tuple[tuple[bool, SortValue], ...]:
        return tuple(map(_missing_last, item[0][begin:end]))

    return key
