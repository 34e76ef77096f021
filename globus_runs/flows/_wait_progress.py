"""What ``wait_for_runs`` reports after each poll, for callers that show progress."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import attrs

from .._models import Run

__all__ = ["ProgressCallback", "WaitProgress", "progress_of"]


@attrs.frozen
class WaitProgress:
    """How far a ``wait_for_runs`` call has come, as of its latest poll.

    ``total`` is the number of runs waited for, ``done`` how many of them have ended
    (``SUCCEEDED``, ``FAILED`` or ``ENDED``). ``counts`` maps each status to the number of
    runs last seen in it; a run given by id and not yet looked up is counted under
    ``"UNKNOWN"``. The counts add up to ``total``.

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
    counts: dict[str, int] = {}
    done = total = 0
    for run_id in run_ids:
        total += 1
        run = latest.get(run_id)
        status = run.status if run is not None else "UNKNOWN"
        counts[status] = counts.get(status, 0) + 1
        done += run is not None and run.is_terminal
    return WaitProgress(done=done, total=total, counts=dict(sorted(counts.items())))


#: Called with a :class:`WaitProgress` after each poll of ``wait_for_runs``.
ProgressCallback = Callable[[WaitProgress], object]
