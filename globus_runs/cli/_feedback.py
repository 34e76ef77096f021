"""What the command line tells the user on stderr while it works: retries and wait progress."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TypeVar

import anyio
import attrs
import click
import httpx
from rich.console import Console
from rich.live import Live
from rich.text import Text

from .._errors import APIError, ConnectError, GlobusRunsError
from .._retry import RetryEvent, RetryPolicy
from ..flows import WaitProgress

__all__ = ["RetryReporter", "WaitDisplay", "progress_text", "reporting_retries", "retry_line"]


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


T = TypeVar("T")

# A retry like one told less than this many seconds ago is not told again.
_QUIET = 60.0


def _likeness(event: RetryEvent) -> tuple[str, str, str, int]:
    """What makes retries alike: the method, the service, how it failed and which retry.

    The many items of a batch meeting the same failure are told once, not once each.
    """
    url = httpx.URL(event.url)
    error = event.error
    kind = str(error.http_status) if isinstance(error, APIError) else type(error).__name__
    return event.method, f"{url.scheme}://{url.netloc.decode('ascii')}", kind, event.attempt


class RetryReporter:
    """Tells each retry on stderr (`retry_line`), once for retries alike (see `_likeness`)
    within a minute.

    Once ``unreachable`` (when set) gives an error, the service proved unreachable to an
    item of a batch: the connection failures of the items still in flight are no longer
    retried. One about to pause is raised at once; one pausing inside `abandonable` is
    woken and raised (nothing of it is in flight then: its last connection was refused).
    """

    def __init__(self, max_retries: int) -> None:
        self.max_retries = max_retries
        self.unreachable: Callable[[], GlobusRunsError | None] | None = None
        self._told: dict[tuple[str, str, str, int], float] = {}
        # Per task: until when it pauses after a connection failure, and that failure.
        self._pauses: dict[int, tuple[float, GlobusRunsError]] = {}
        self._scopes: dict[int, anyio.CancelScope] = {}
        self._abandoned: dict[int, GlobusRunsError] = {}

    def _gave_up(self) -> bool:
        return self.unreachable is not None and self.unreachable() is not None

    def __call__(self, event: RetryEvent) -> None:
        if isinstance(event.error, ConnectError):
            if self._gave_up():
                raise event.error
            now = anyio.current_time()
            self._pauses[anyio.get_current_task().id] = (now + event.delay, event.error)
        likeness = _likeness(event)
        now = time.monotonic()
        if now - self._told.get(likeness, -_QUIET) < _QUIET:
            return
        self._told[likeness] = now
        click.echo(retry_line(event, self.max_retries), err=True)

    async def abandonable(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run one item's ``operation``; see `abandon_pauses`."""
        task = anyio.get_current_task().id
        with anyio.CancelScope() as scope:
            self._scopes[task] = scope
            try:
                return await operation()
            finally:
                del self._scopes[task]
                self._pauses.pop(task, None)
        # Only `abandon_pauses` cancels this scope, and it leaves the failure to raise.
        raise self._abandoned.pop(task)

    def abandon_pauses(self) -> None:
        """Once the service is unreachable, end the items pausing after a connection failure."""
        if not self._gave_up():
            return
        now = anyio.current_time()
        for task, (until, error) in list(self._pauses.items()):
            scope = self._scopes.get(task)
            if until > now and scope is not None:
                self._abandoned[task] = error
                scope.cancel()


def reporting_retries(policy: RetryPolicy | None) -> RetryPolicy:
    """``policy`` (default: the library's), telling each retry with a `RetryReporter`
    unless it already tells someone else."""
    policy = policy if policy is not None else RetryPolicy()
    if policy.on_retry is not None:
        return policy
    return attrs.evolve(policy, on_retry=RetryReporter(policy.max_retries))


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

    @property
    def last(self) -> str | None:
        """The progress last shown (``3/10 ended: ...``), if any."""
        return self._last

    def __call__(self, progress: WaitProgress) -> None:
        text = progress_text(progress)
        if text == self._last:
            return
        self._last = text
        if self._live is not None:
            self._live.update(Text(f"Waiting: {text}"))
        else:
            self._console.print(f"Waiting: {text}", soft_wrap=True)
