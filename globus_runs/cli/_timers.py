"""``globus-runs timers ...``: timers, their runs, and running a flow timer now."""

from __future__ import annotations

import click

from .._models import TimerRunStatus
from ._config import open_clients
from ._options import Format, format_option, run, settings_of
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


@timers.command("list")
@click.option(
    "--status",
    multiple=True,
    type=click.Choice(["active", "inactive", "ended"]),
    help="Only timers in this state (repeatable).",
)
@click.option("--name", help="Only timers with this name.")
@format_option
@click.pass_context
def list_timers(
    ctx: click.Context, status: tuple[str, ...], name: str | None, output_format: Format
) -> None:
    """List your timers."""
    settings = settings_of(ctx)

    async def main() -> None:
        async with open_clients(settings) as clients:
            found = await clients.timers.list_timers(
                filter_status=list(status) or None, filter_name=name
            )
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
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=25,
    show_default=True,
    help="Show at most this many runs, newest first (0: all of them).",
)
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
                timer_id, status=list(status) or None, max_items=limit or None
            )
        if output_format == "json":
            emit_json({"timer_id": timer_id, "runs": [timer_run_document(r) for r in found]})
        else:
            console = make_console()
            console.print(timer_runs_table(found))
            console.print(f"{len(found)} run(s)", style="dim")

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
            started = await clients.timers.run_timer(timer_id)
        if output_format == "json":
            emit_json(timer_run_document(started))
        else:
            make_console().print(f"Started run {started.id} of timer {timer_id}.")

    run(main)
