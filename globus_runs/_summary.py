"""How a campaign of runs is doing: counts, durations and failure codes, from one pass.

Pure: :func:`summarize_runs` reads :class:`Run` objects (a listing, a file, a database) and
returns a :class:`RunSummary`; :class:`SummaryBuilder` does the same one run at a time, for
runs that arrive from an async listing.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import attrs

from ._errors import InvalidRequestError
from ._models import Run

__all__ = ["RunSummary", "SummaryBuilder", "summarize_runs"]

_CANCELED_CODE = "FlowCanceled"


@attrs.frozen
class RunSummary:
    """The numbers of a set of runs.

    - ``total``: how many runs; ``by_status``: how many have each status (as the service
      reports it: a canceled run is counted as ``FAILED`` or ``ENDED`` there);
    - ``canceled``: how many of those ended because they were canceled;
    - ``by_day``: runs started on each day (UTC, ``YYYY-MM-DD``), oldest first;
    - ``ended``: runs with a start and a completion time, whose durations (seconds) give
      ``median_duration`` and ``p95_duration`` (the nearest-rank 95th percentile); both
      ``None`` when no run has ended;
    - ``failure_codes``: the ``details.code`` of failed (or ended) runs that were not
      canceled, most frequent first (ties by code), at most ``top`` of them.
    """

    total: int
    by_status: dict[str, int]
    canceled: int
    by_day: dict[str, int]
    ended: int
    median_duration: float | None
    p95_duration: float | None
    failure_codes: list[tuple[str, int]]

    def to_dict(self) -> dict[str, Any]:
        """The summary as a JSON-ready dict (failure codes as ``{"code", "count"}`` objects).

        Example::

            import json

            print(json.dumps(summarize_runs(runs).to_dict(), indent=2))
        """
        return {
            "total": self.total,
            "by_status": dict(self.by_status),
            "canceled": self.canceled,
            "by_day": dict(self.by_day),
            "ended": self.ended,
            "median_duration": self.median_duration,
            "p95_duration": self.p95_duration,
            "failure_codes": [{"code": code, "count": n} for code, n in self.failure_codes],
        }


def _day(moment: datetime) -> date:
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(UTC).date()


class SummaryBuilder:
    """Accumulates runs one at a time; :meth:`result` gives the :class:`RunSummary`.

    Memory grows with the number of ended runs (one float each, for the percentiles).

    Example::

        builder = SummaryBuilder()
        async for run in flows.iter_runs(filter_flow_id=flow_id):
            builder.add(run)
        print(builder.result().by_status)
    """

    def __init__(self, *, top: int = 5) -> None:
        if not isinstance(top, int) or isinstance(top, bool) or top < 0:
            raise InvalidRequestError("top must be a non-negative int")
        self._top = top
        self._total = 0
        self._statuses: Counter[str] = Counter()
        self._days: Counter[date] = Counter()
        self._codes: Counter[str] = Counter()
        self._canceled = 0
        self._durations: list[float] = []

    def add(self, run: Run) -> None:
        """Count one run.

        Example::

            builder.add(await flows.get_run(run_id))
        """
        if not isinstance(run, Run):
            raise InvalidRequestError(f"expected a Run, got {type(run).__name__}")
        self._total += 1
        self._statuses[run.status] += 1
        if run.start_time is not None:
            self._days[_day(run.start_time)] += 1
        if run.is_terminal and run.start_time is not None and run.completion_time is not None:
            self._durations.append((run.completion_time - run.start_time).total_seconds())
        if run.was_canceled:
            self._canceled += 1
        elif run.status in ("FAILED", "ENDED"):
            error = run.error
            self._codes[error.code if error is not None and error.code else "(no code)"] += 1

    def result(self) -> RunSummary:
        """The summary of the runs added so far.

        Example::

            summary = builder.result()
        """
        durations = sorted(self._durations)
        median = statistics.median(durations) if durations else None
        p95 = durations[math.ceil(0.95 * len(durations)) - 1] if durations else None
        codes = sorted(self._codes.items(), key=lambda item: (-item[1], item[0]))
        return RunSummary(
            total=self._total,
            by_status=dict(sorted(self._statuses.items())),
            canceled=self._canceled,
            by_day={day.isoformat(): n for day, n in sorted(self._days.items())},
            ended=len(durations),
            median_duration=median,
            p95_duration=p95,
            failure_codes=codes[: self._top],
        )


def summarize_runs(runs: Iterable[Run], *, top: int = 5) -> RunSummary:
    """Count ``runs`` by status and day, with duration percentiles and top failure codes.

    Example::

        runs = await flows.list_all_runs(filter_flow_id=flow_id)
        summary = summarize_runs(runs)
        print(summary.by_status, summary.median_duration, summary.failure_codes)
    """
    builder = SummaryBuilder(top=top)
    for run in runs:
        builder.add(run)
    return builder.result()
