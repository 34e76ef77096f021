"""The live progress bar of a batch: how many items are done, started, failed, and how fast."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
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


class BatchProgress:
    """A progress bar counting successes and failures, drawn on ``console``.

    On a terminal it redraws in place; written to a file or a pipe, rich prints it once,
    finished, when the block ends. ``enabled=False`` draws nothing.
    """

    def __init__(
        self,
        console: Console,
        total: int,
        *,
        description: str = "Starting runs",
        ok_label: str = "started",
        enabled: bool = True,
    ) -> None:
        self.ok = 0
        self.failed = 0
        self._progress = Progress(
            SpinnerColumn(finished_text="[green]✓"),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(f"[green]{{task.fields[ok]}} {ok_label}"),
            TextColumn("[red]{task.fields[failed]} failed"),
            _RateColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled,
        )
        self._task = self._progress.add_task(description, total=total, ok=0, failed=0)

    def __enter__(self) -> BatchProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def advance(self, ok: bool) -> None:
        """Count one item done, successfully or not."""
        if ok:
            self.ok += 1
        else:
            self.failed += 1
        self._progress.update(self._task, advance=1, ok=self.ok, failed=self.failed)
