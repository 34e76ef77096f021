"""What the command line tells the user on stderr while it works: retries and wait progress."""

from __future__ import annotations

from types import TracebackType

import attrs
import click
from rich.console import Console
from rich.live import Live
from rich.text import Text

from .._errors import APIError
from .._retry import RetryEvent, RetryPolicy
from ..flows import WaitProgress

__all__ = ["WaitDisplay", "progress_text", "reporting_retries", "retry_line"]


def retry_line(event: RetryEvent, max_retries: int) -> str:
    """``GET URL: what failed; retry 2 of 5 in 1.3 s``."""
    # As one_line in _options (which imports the settings, and so cannot be imported here).
    error = " ".join(str(event.error).split())
    if not isinstance(event.error, APIError):
        error = f"{type(event.error).__name__}: {error}"
    where = f"{event.method} {event.url}"
    if where not in error:
        error = f"{where}: {error}"
    return f"{error}; retry {event.attempt} of {max_retries} in {event.delay:.1f} s"


def reporting_retries(policy: RetryPolicy | None) -> RetryPolicy:
    """``policy`` (default: the library's), writing a line on stderr before each retry
    (`retry_line`) unless it already tells someone else."""
    policy = policy if policy is not None else RetryPolicy()
    if policy.on_retry is not None:
        return policy
    max_retries = policy.max_retries

    def report(event: RetryEvent) -> None:
        click.echo(retry_line(event, max_retries), err=True)

    return attrs.evolve(policy, on_retry=report)


def progress_text(progress: WaitProgress) -> str:
    """``3/10 ended: 1 ACTIVE, 2 FAILED, ...`` (statuses in alphabetical order)."""
    counts = ", ".join(f"{n} {status}" for status, n in progress.counts.items())
    return f"{progress.done}/{progress.total} ended" + (f": {counts}" if counts else "")


class WaitDisplay:
    """The progress of a wait on ``console`` (stderr): a live line on a terminal, redrawn
    after each poll; elsewhere a plain line each time the progress changes."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._live: Live | None = None
        self._last: str | None = None

    def __enter__(self) -> WaitDisplay:
        if self._console.is_terminal:
            self._live = Live(Text(""), console=self._console, transient=True)
            self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.stop()
            if self._last is not None:
                # The live line goes away: leave where the wait ended in the scrollback.
                self._console.print(f"Waiting: {self._last}", soft_wrap=True)

    def __call__(self, progress: WaitProgress) -> None:
        text = progress_text(progress)
        if text == self._last:
            return
        self._last = text
        if self._live is not None:
            self._live.update(Text(f"Waiting: {text}"))
        else:
            self._console.print(f"Waiting: {text}", soft_wrap=True)
