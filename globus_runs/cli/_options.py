"""What every command shares: ``--format``, option types, running a coroutine, exit codes."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import IntEnum
from pathlib import Path
from typing import Any, Literal, NoReturn, TypeVar, cast

import anyio
import click

from .._errors import APIError, GlobusRunsError
from ._config import Settings

__all__ = [
    "Exit",
    "Failure",
    "Format",
    "datetime_option",
    "count_line",
    "fetch_limit",
    "format_option",
    "limit_option",
    "one_line",
    "root_format_option",
    "run",
    "settings_of",
    "trim",
    "wait_options",
]

Format = Literal["text", "json"]
F = TypeVar("F", bound=Callable[..., Any])


class Exit(IntEnum):
    """The command line's exit statuses."""

    OK = 0
    #: An error: the service refused a request, the network failed, bad credentials...
    ERROR = 1
    #: Bad usage: an unknown option, a missing argument (click's own status).
    USAGE = 2
    #: The command ran, but a run did not succeed or an item of a batch failed.
    NOT_ALL_SUCCEEDED = 3
    #: Waiting gave up after ``--timeout`` seconds.
    TIMEOUT = 4
    #: Interrupted (Ctrl-C), as shells report a process ended by SIGINT.
    INTERRUPTED = 130
    #: Stopped by SIGTERM, as shells report a process ended by it.
    TERMINATED = 143


class Failure(click.ClickException):
    """An error reported as one line on stderr, with exit status 1."""

    exit_code = Exit.ERROR


def one_line(error: BaseException) -> str:
    """The error as one line: its type and message, never a traceback."""
    text = " ".join(str(error).split()) or "(no message)"
    if isinstance(error, APIError):
        return text
    return f"{type(error).__name__}: {text}"


_FORMATS = ("text", "json")
_FORMAT_VARIABLE = "GLOBUS_RUNS_FORMAT"
# Where ``globus-runs --format json COMMAND`` leaves its choice for the command.
_ROOT_FORMAT = "globus_runs.format"


def _choose_format(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    """The command's ``--format``, else the one before the command, else the variable."""
    if value is not None:
        return value
    given = ctx.meta.get(_ROOT_FORMAT)
    if given is not None:
        return cast(str, given)
    variable = os.environ.get(_FORMAT_VARIABLE, "").strip()
    if not variable:
        return "text"
    if variable.lower() not in _FORMATS:
        raise click.UsageError(f"{_FORMAT_VARIABLE}={variable!r} is not one of: text, json")
    return variable.lower()


#: A results file (JSON lines) of the batch commands.
RESULTS_PATH = click.Path(dir_okay=False, path_type=Path)


def progress_option(function: F) -> F:
    """``--progress/--no-progress`` of the batch commands (a bar on stderr by default)."""
    option = click.option(
        "--progress/--no-progress",
        default=True,
        show_default=True,
        help="Draw a progress bar on stderr.",
    )
    return option(function)


def format_option(function: F) -> F:
    """``--format text|json``, in any case (default ``text``, or ``GLOBUS_RUNS_FORMAT``, or
    ``--format`` given before the command)."""
    option = click.option(
        "--format",
        "output_format",
        type=click.Choice(_FORMATS, case_sensitive=False),
        callback=_choose_format,
        help="text for people, json for programs (see the documentation for its shape); "
        f"default: text, or {_FORMAT_VARIABLE}.",
    )
    return option(function)


def root_format_option(function: F) -> F:
    """``globus-runs --format json COMMAND``: the default ``--format`` of the command."""

    def remember(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        if value is not None:
            ctx.meta[_ROOT_FORMAT] = value

    option = click.option(
        "--format",
        type=click.Choice(_FORMATS, case_sensitive=False),
        expose_value=False,
        callback=remember,
        help="The --format of the command that follows (text or json).",
    )
    return option(function)


def datetime_option(name: str, help: str) -> Callable[[F], F]:
    """An option taking an ISO 8601 date-time; one without an offset is local time."""

    def convert(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise click.BadParameter(
                f"{value!r} is not an ISO 8601 date-time (2026-03-01T12:00)"
            ) from None
        return moment if moment.tzinfo is not None else moment.astimezone()

    return click.option(name, metavar="DATETIME", callback=convert, help=help)


def settings_of(ctx: click.Context) -> Settings:
    """The settings of this invocation: given by the caller (``obj``), or the environment
    (checked at once: a typo is one line naming the variable, before any request)."""
    root = ctx.find_root()
    if root.obj is None:
        settings = Settings.from_env(os.environ)
        try:
            settings.check()
        except GlobusRunsError as error:
            raise Failure(one_line(error)) from None
        root.obj = settings
    return cast(Settings, root.obj)


def run(
    main: Callable[[], Awaitable[int | None]],
    *,
    interrupted: str | Callable[[], str] | None = None,
) -> None:
    """Run ``main`` in an event loop; exit with its status, or report a library error.

    A library error is one line on stderr and exit status 1, without a traceback. On
    Ctrl-C (SIGINT), ``interrupted`` (what was left, how to resume; a callable is asked at
    that moment) is written on stderr and the exit status is 130; on SIGTERM likewise, with
    exit status 143.
    """
    terminated = _Terminated()
    try:
        with terminated:
            status = anyio.run(main)
    except KeyboardInterrupt:
        _interrupted(interrupted, terminated.seen)
    except GlobusRunsError as error:
        raise Failure(one_line(error)) from None
    except BaseExceptionGroup as group:
        # A task group's lone library error is reported as if raised alone.
        if not group.split(KeyboardInterrupt)[1]:
            _interrupted(interrupted, terminated.seen)
        lone = _lone_error(group)
        if lone is None:
            raise
        raise Failure(one_line(lone)) from None
    if status:
        raise click.exceptions.Exit(status)


class _Terminated:
    """While active, SIGTERM stops the command as Ctrl-C does (so it says what was left),
    and is remembered for the exit status.

    Both go through the event loop's own SIGINT handler, which cancels the work at an await
    and never in the middle of the loop's own code. A process started with SIGINT ignored
    (a job put in the background by a shell) gets Python's SIGINT handler back while the
    command runs, so that the event loop installs it."""

    def __init__(self) -> None:
        self.seen = False
        self._previous: Any = None
        self._previous_sigint: Any = None

    def _handle(self, signum: int, frame: object) -> None:
        self.seen = True
        signal.raise_signal(signal.SIGINT)

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        sigint = signal.getsignal(signal.SIGINT)
        if sigint in (signal.SIG_IGN, signal.SIG_DFL):
            self._previous_sigint = sigint
            signal.signal(signal.SIGINT, signal.default_int_handler)
        self._previous = signal.signal(signal.SIGTERM, self._handle)

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
        if self._previous_sigint is not None:
            signal.signal(signal.SIGINT, self._previous_sigint)


def _interrupted(message: str | Callable[[], str] | None, terminated: bool) -> NoReturn:
    text = message() if callable(message) else message
    click.echo(f"\n{text or 'Interrupted.'}", err=True)
    raise click.exceptions.Exit(Exit.TERMINATED if terminated else Exit.INTERRUPTED)


def _lone_error(group: BaseExceptionGroup[BaseException]) -> GlobusRunsError | None:
    errors = group.exceptions
    while len(errors) == 1 and isinstance(errors[0], BaseExceptionGroup):
        errors = errors[0].exceptions
    if len(errors) == 1 and isinstance(errors[0], GlobusRunsError):
        return errors[0]
    return None


def limit_option(noun: str, *, default: int = 25) -> Callable[[F], F]:
    """``--limit N``, the same on every command: show at most N items, 0 for all of them.

    Commands fetch one item more (`fetch_limit`) to tell whether more exist (`trim`).
    """
    return click.option(
        "--limit",
        type=click.IntRange(min=0),
        default=default,
        show_default=True,
        help=f"Show at most this many {noun} (0: all of them).",
    )


def fetch_limit(limit: int) -> int | None:
    """How many items to fetch for ``--limit`` (one more, to know whether more exist)."""
    return limit + 1 if limit else None


T = TypeVar("T")


def trim(items: list[T], limit: int) -> tuple[list[T], bool]:
    """The first ``limit`` items (all for 0), and whether more were found."""
    if limit and len(items) > limit:
        return items[:limit], True
    return items, False


def count_line(count: int, things: str, *, more: bool) -> str:
    """``3 run(s)``, saying when more exist than ``--limit`` lets through."""
    if not more:
        return f"{count} {things}"
    return f"{count} {things} shown; more exist (raise --limit, or --limit 0 for all)"


def wait_options(function: F) -> F:
    """``--timeout`` and ``--poll-interval``, for the commands that wait for runs."""
    function = click.option(
        "--poll-interval",
        type=click.FloatRange(min=0.01),
        default=5.0,
        show_default=True,
        help="Seconds between checks (growing slowly up to 60).",
    )(function)
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0),
        help="Give up after this many seconds (exit status 4).",
    )(function)
