"""The live progress bar of a batch: how many items are done, started, failed, and how fast."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from types import TracebackType
from typing import Any

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = ["BatchProgress"]


class _RateColumn(ProgressColumn):
    """Items per second, over the last few seconds (over the whole batch once finished)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None and task.finished and task.elapsed:
            speed = task.completed / task.elapsed
        return Text(f"{speed:.1f}/s" if speed else "-/s", style="progress.data.speed")


class _TwoLines(Progress):
    """The bar on one line, the counts on the next: each fits 80 columns even for a batch
    of a million items."""

    def __init__(self, counts: Callable[[], Text], *columns: ProgressColumn, **options: Any):
        self._counts = counts  # before Progress's constructor, which renders once
        super().__init__(*columns, **options)

    def get_renderables(self) -> Iterable[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        yield self._counts()


def _clock(seconds: float) -> str:
    return str(timedelta(seconds=int(seconds)))


class BatchProgress:
    """A progress bar counting successes and failures (and, with ``other_label``, a third
    outcome that is neither), drawn on ``console``.

    On a terminal it redraws in place: the bar, then the counts, each line fitting the
    terminal (80 columns are enough). Written to a file
    or a pipe, nothing is drawn while the batch runs; when the block ends, one plain line
    says how far it got: ``Starting runs: 10/10 done, 8 started, 2 failed in 0:00:03
    (3.1/s)``, or ``interrupted at 5/10`` when the block ended early. ``enabled=False``
    draws nothing.
    """

    def __init__(
        self,
        console: Console,
        total: int,
        *,
        description: str = "Starting runs",
        ok_label: str = "started",
        other_label: str | None = None,
        enabled: bool = True,
    ) -> None:
        self.ok = 0
        self.failed = 0
        self.other = 0
        self.total = total
        self._console = console
        self._description = description
        self._ok_label = ok_label
        self._other_label = other_label
        self._enabled = enabled
        self._live = enabled and console.is_terminal
        self._started = time.monotonic()
        self._progress = _TwoLines(
            self.counts_line,
            SpinnerColumn(finished_text="[green]✓"),
            TextColumn("{task.description}"),
            # The bar takes what the other columns leave, so the line fits the terminal.
            BarColumn(bar_width=None),
            MofNCompleteColumn(),
            _RateColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            disable=not self._live,
            expand=True,
        )
        self._task = self._progress.add_task(description, total=total)

    def __enter__(self) -> BatchProgress:
        self._started = time.monotonic()
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()
        if self._enabled and not self._live:
            self._console.print(self.finished_line(), soft_wrap=True, highlight=False)

    @property
    def done(self) -> int:
        """Items counted so far, whatever their outcome."""
        return self.ok + self.failed + self.other

    def counts_line(self) -> Text:
        """``8 started, 2 failed`` (the second line of the live bar)."""
        line = Text("  ")
        line.append(f"{self.ok} {self._ok_label}", style="green")
        if self._other_label is not None:
            line.append(f", {self.other} {self._other_label}")
        line.append(", ")
        line.append(f"{self.failed} failed", style="red")
        return line

    def finished_line(self) -> str:
        """Where the batch got to, on one plain line (what a pipe or a file is given)."""
        elapsed = time.monotonic() - self._started
        where = "done" if self.done >= self.total else "interrupted"
        counts = [f"{self.ok} {self._ok_label}"]
        if self._other_label is not None:
            counts.append(f"{self.other} {self._other_label}")
        counts.append(f"{self.failed} failed")
        rate = f" ({self.done / elapsed:.1f}/s)" if self.done and elapsed > 0 else ""
        progress = f"{self.done}/{self.total} {where}"
        if where == "interrupted":
            progress = f"interrupted at {self.done}/{self.total}"
        return f"{self._description}: {progress}, {', '.join(counts)} in {_clock(elapsed)}{rate}"

    def advance(self, ok: bool) -> None:
        """Count one item done, successfully or not."""
        if ok:
            self.ok += 1
        else:
            self.failed += 1
        self._update()

    def advance_other(self) -> None:
        """Count one item done with the third outcome (``other_label``)."""
        self.other += 1
        self._update()

    def _update(self) -> None:
        self._progress.update(self._task, advance=1)
