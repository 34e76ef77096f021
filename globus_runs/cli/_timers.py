"""``globus-runs timers ...``: timers, their runs, and running a flow timer now."""

from __future__ import annotations

import click

from .._errors import ConfigurationError
from .._timer_models import TimerRunStatus
from ._config import ENV_FLOWS_URL, ENV_TIMERS_URL, open_clients
from ._options import (
    Format,
    count_line,
    fetch_limit,
    format_option,
    limit_option,
    run,
    settings_of,
    trim,
)
from ._output import (
    emit_json,
    make_console,
    timer_details,
    timer_run_document,
    timer_runs_table,
    timers_table,
)

__all__ = ["timers"]


@click.group()
def timers() -> None:
    """Timers: list and inspect them, list their runs, run a flow timer now."""


# The service filters timers by these words; "active" covers the statuses "new" and "loaded".
_FILTER_WORDS = ("active", "inactive", "ended")
# What the table shows (a timer's status), and the filter word that selects each.
_SHOWN_STATUSES = {
    "new": "active",
    "loaded": "active",
    "inactive": "inactive",
    "ended": "ended",
    "delete_in_progress": None,
}


def _status_filter(statuses: tuple[str, ...]) -> tuple[list[str] | None, set[str] | None]:
    """The service's filter words for ``--status``, and the statuses to keep of what it
    returns (``None``: keep everything)."""
    words = {status.lower() for status in statuses}
    shown_only = words - set(_FILTER_WORDS)
    if not shown_only:
        return sorted(words) or None, None
    mapped = {_SHOWN_STATUSES[status] for status in shown_only}
    if None in mapped:
        return None, words  # no filter word selects timers being deleted
    return sorted((words & set(_FILTER_WORDS)) | {w for w in mapped if w}), words


def _kept(status: str | None, keep: set[str]) -> bool:
    if status in keep:
        return True
    # A status selected by a filter word the user gave (unknown statuses included).
    requested = keep & set(_FILTER_WORDS)
    word = _SHOWN_STATUSES.get(status or "", "?")
    return bool(requested) and (word in requested or word == "?")


@timers.command("list")
@click.option(
    "--status",
    multiple=True,
    type=click.Choice(
        [*_FILTER_WORDS, "new", "loaded", "delete_in_progress"], case_sensitive=False
    ),
    help="Only timers in this state (repeatable): active (new or loaded), inactive, ended, "
    "or a status as the table shows it.",
)
@click.option("--name", help="Only timers with this name.")
@format_option
@click.pass_context
def list_timers(
    ctx: click.Context, status: tuple[str, ...], name: str | None, output_format: Format
) -> None:
    """List your timers."""
    settings = settings_of(ctx)
    filter_status, keep = _status_filter(status)

    async def main() -> None:
        async with open_clients(settings) as clients:
            found = await clients.timers.list_timers(filter_status=filter_status, filter_name=name)
        if keep is not None:
            found = [timer for timer in found if _kept(timer.status, keep)]
        if output_format == "json":
            emit_json({"timers": [timer.raw for timer in found]})
        else:
            console = make_console()
            console.print(timers_table(found))
            console.print(f"{len(found)} timer(s)", style="dim")

    run(main)


@timers.command("show")
@click.argument("timer_id")
@format_option
@click.pass_context
def show(ctx: click.Context, timer_id: str, output_format: Format) -> None:
    """Show one timer."""
    settings = settings_of(ctx)

    async def main() -> None:
        async with open_clients(settings) as clients:
            timer = await clients.timers.get_timer(timer_id)
        if output_format == "json":
            emit_json(timer.raw)
        else:
            make_console().print(timer_details(timer))

    run(main)


@timers.command("runs")
@click.argument("timer_id")
@click.option(
    "--status",
    multiple=True,
    type=click.Choice(sorted(TimerRunStatus.ALL)),
    help="Only runs with this status (repeatable).",
)
@limit_option("runs, newest first")
@format_option
@click.pass_context
def runs(
    ctx: click.Context,
    timer_id: str,
    status: tuple[str, ...],
    limit: int,
    output_format: Format,
) -> None:
    """List the runs a timer has started, newest first."""
    settings = settings_of(ctx)

    async def main() -> None:
        async with open_clients(settings) as clients:
            found = await clients.timers.list_all_runs(
                timer_id, status=list(status) or None, max_items=fetch_limit(limit)
            )
        shown, more = trim(found, limit)
        if output_format == "json":
            documents = [timer_run_document(r) for r in shown]
            emit_json({"timer_id": timer_id, "runs": documents, "more": more})
        else:
            console = make_console()
            console.print(timer_runs_table(shown))
            console.print(count_line(len(shown), "run(s)", more=more), style="dim")

    run(main)


@timers.command("run")
@click.argument("timer_id")
@format_option
@click.pass_context
def run_now(ctx: click.Context, timer_id: str, output_format: Format) -> None:
    """Start a flow timer's flow now, with the timer's input (not recorded in its history)."""
    settings = settings_of(ctx)

    async def main() -> None:
        async with open_clients(settings) as clients:
            try:
                started = await clients.timers.run_timer(timer_id)
            except ConfigurationError as error:
                if settings.flows_url is not None:
                    raise
                # Where Flows is could not be told from the Timers URL alone.
                raise ConfigurationError(
                    f"{ENV_FLOWS_URL} must be set to start a timer's flow when "
                    f"{ENV_TIMERS_URL} is ({' '.join(str(error).split())})"
                ) from None
        if output_format == "json":
            emit_json(timer_run_document(started))
        else:
            make_console().print(f"Started run {started.id} of timer {timer_id}.")

    run(main)
