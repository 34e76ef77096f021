"""What ``wait_for_runs`` reports after each poll, for callers that show progress."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import attrs

from .._models import Run, RunStatus

__all__ = ["ProgressCallback", "WaitProgress", "progress_of", "progress_of_statuses"]


@attrs.frozen
class WaitProgress:
    """How far a ``wait_for_runs`` call has come, as of its latest poll.

    ``total`` is the number of runs waited for, ``done`` how many of them have ended
    (``SUCCEEDED``, ``FAILED`` or ``ENDED``). ``counts`` maps each status to the number of
    runs last seen in it; a run given by id and not yet looked up is counted under
    ``"UNKNOWN"``, and one that was not found (deleted) under ``"NOT_FOUND"``. The counts add
    up to ``total``.

    Example::

        def show(progress: WaitProgress) -> None:
            print(f"{progress.done}/{progress.total} ended", dict(progress.counts))

        await flows.wait_for_runs(run_ids, on_progress=show)
    """

    done: int
    total: int
    counts: Mapping[str, int]


def progress_of(run_ids: Iterable[str], latest: Mapping[str, Run]) -> WaitProgress:
    """The progress of ``run_ids``, given the latest state known of each."""
    return progress_of_statuses(
        run.status if (run := latest.get(run_id)) is not None else None for run_id in run_ids
    )


def progress_of_statuses(statuses: Iterable[str | None]) -> WaitProgress:
    """The progress of runs given the status last seen of each (``None``: not looked up)."""
    counts: dict[str, int] = {}
    done = total = 0
    for seen in statuses:
        total += 1
        status = seen if seen is not None else "UNKNOWN"
        counts[status] = counts.get(status, 0) + 1
        done += status in RunStatus.TERMINAL
    return WaitProgress(done=done, total=total, counts=dict(sorted(counts.items())))


#: Called with a :class:`WaitProgress` after each poll of ``wait_for_runs``.
ProgressCallback = Callable[[WaitProgress], object]
