"""``globus-runs demo``: the library at work on an in-process emulator, with no setup.

The emulator (``globus_runs.testing``) plays Flows, Timers and Auth in this process on a
manual clock that the demo moves itself, so what it shows never depends on how fast the
machine is; it reaches the emulator through the same wiring as every other command. Every
table fits 80 columns.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import datetime

import anyio
import click
from rich.console import Console, RenderableType
from rich.constrain import Constrain
from rich.rule import Rule
from rich.table import Table

from .._errors import APIError
from .._events import RunLogEvent, RunStatusEvent
from .._http.httpx_sender import asgi_transport
from .._models import BatchResult, Run, RunLogEntry, RunRequest
from .._timer_models import TimerRun
from ..demo import _pass_time
from ..testing import FakeClock, FakeGlobus
from ._config import Clients, Settings, open_clients
from ._options import Failure, one_line, run
from ._output import (
    _table,
    log_line,
    make_console,
    run_status,
    run_status_text,
    status_text,
)
from ._progress import BatchProgress

__all__ = ["demo", "run_demo"]

BATCH_SIZE = 30
WIDTH = 80  # the demo's rules and tables fit this, whatever the console's width


def _section(console: Console, title: str) -> None:
    console.print()
    _show(console, Rule(f"[bold]{title}", align="left"))


def _show(console: Console, renderable: RenderableType) -> None:
    console.print(Constrain(renderable, width=WIDTH))


def _time(moment: datetime | None) -> str:
    """The time of day (the demo's runs all happen within minutes)."""
    return moment.astimezone().strftime("%H:%M:%S") if moment is not None else "-"


def _runs_table(runs: Iterable[Run]) -> Table:
    table = _table("RUN ID", "STATUS", "LABEL", "FLOW")
    for one in runs:
        table.add_row(one.run_id, run_status_text(one), one.label or "", one.flow_title or "")
    return table


def _log_table(entries: Iterable[RunLogEntry]) -> Table:
    table = _table("TIME", "CODE", "DESCRIPTION")
    for entry in entries:
        table.add_row(_time(entry.time), entry.code, entry.description)
    return table


def _timer_runs_table(runs: Iterable[TimerRun]) -> Table:
    table = _table("RUN ID", "STATUS", "STARTED", "ENDED", "RESULT")
    for one in runs:
        result = one.result.error.code if one.result.error else one.result.status or "-"
        table.add_row(
            one.id or "-",
            status_text(one.status),
            _time(one.start_time),
            _time(one.end_time),
            result,
        )
    return table


async def run_demo(console: Console) -> None:
    """Start a batch with a progress bar, list, cancel, watch, wait, read logs, run a timer."""
    fake = FakeGlobus(clock=FakeClock())
    fake.latency = 0.02  # a little network-like delay, so the progress bar has work to show
    transfer = fake.add_flow(title="Move scan data", duration=30.0, steps=3)
    reduce = fake.add_flow(
        title="Reduce scan",
        duration=20.0,
        outcome="FAILED",
        failure_description="The detector calibration file is missing",
    )
    settings = Settings(
        token=fake.token,
        flows_url=fake.flows_url,
        timers_url=fake.timers_url,
        auth_url=fake.auth_url,
        transport=asgi_transport(fake.app),
    )
    _show(
        console,
        "[bold]globus-runs demo[/]: Globus Flows, Timers and Auth emulated in this process, "
        "on a clock the demo moves itself.\n"
        "Some runs fail on purpose, to show what failures look like: "
        "[red]the errors in red below are expected[/].",
    )
    async with open_clients(settings, concurrency=8) as clients:
        started = await _start_batch(console, clients, transfer, reduce)
        flows = clients.flows

        _section(console, "2. One page of ACTIVE runs (list_runs)")
        page = await flows.list_runs(filter_status="ACTIVE", per_page=5)
        _show(console, _runs_table(page.runs))
        console.print(f"(one page of 5; has_next_page={page.has_next_page})", style="dim")

        _section(console, "3. Cancel a run (cancel_run)")
        canceled = await flows.cancel_run(started[0].run_id)
        console.print(
            f"{canceled.label}: ",
            run_status_text(canceled),
            f", was_canceled={canceled.was_canceled}",
            sep="",
        )

        # Until now the clock stood still (every run ACTIVE); it moves from the watch's
        # first event until every run has ended.
        async with anyio.create_task_group() as time_passing:
            _section(console, f"4. Watch {started[1].label!r} until it ends (watch_run)")
            moving = False
            async for event in flows.watch_run(started[1].run_id, poll_interval=0.1):
                if isinstance(event, RunLogEvent):
                    console.print(log_line(event.entry))
                elif isinstance(event, RunStatusEvent):
                    new = run_status_text(event.run)
                    console.print("status ", event.previous or "-", " -> ", new, sep="")
                if not moving:
                    time_passing.start_soon(_pass_time, fake.clock)
                    moving = True

            _section(console, f"5. Wait for all {len(started)} runs (wait_for_runs)")
            fake.clear_requests()
            with console.status("waiting..."):
                finished = await flows.wait_for_runs(started, poll_interval=0.2)
            time_passing.cancel_scope.cancel()
        counts = Counter(run_status(r) for r in finished)
        shown = {run_status(r): run_status_text(r) for r in finished}
        for status, n in sorted(counts.items()):
            console.print(f"{n:4} ", shown[status], sep="")
        console.print(
            f"{len(fake.requests)} request(s) while waiting for {len(finished)} runs",
            style="dim",
        )

        failed = next(r for r in finished if r.error is not None and not r.was_canceled)
        _section(console, f"6. The log of {failed.label!r}, which failed (list_all_run_logs)")
        _show(console, _log_table(await flows.list_all_run_logs(failed.run_id)))
        if failed.error is not None:
            console.print(f"error {failed.error.code}: {failed.error.description}", style="red")

        await _timer(console, fake, clients, transfer)
    console.print()
    console.print("[bold green]Demo complete.[/] Next: globus-runs --help")


async def _start_batch(console: Console, clients: Clients, transfer: str, reduce: str) -> list[Run]:
    """Start a batch, drawing its progress; two runs of a flow that does not exist fail."""
    missing = str(uuid.uuid4())
    requests = [
        RunRequest(
            reduce if n % 8 == 7 else missing if n in (12, 25) else transfer,
            {"scan": n},
            label=f"scan {n}",
        )
        for n in range(BATCH_SIZE)
    ]
    _section(console, f"1. Start {len(requests)} runs in one batch (stream_run_flows)")
    done: list[BatchResult[Run]] = []
    with BatchProgress(console, len(requests)) as bar:
        async with clients.flows.stream_run_flows(requests, concurrency=4) as results:
            async for result in results:
                done.append(result)
                bar.advance(result.ok)
    done.sort(key=lambda result: result.index)
    for result in done:
        error = result.error
        if isinstance(error, APIError):
            why = f"{type(error).__name__} ({error.http_status} {error.code}): {error.message}"
            console.print(f"scan {result.index}: {why}", style="red")
        elif error is not None:
            console.print(f"scan {result.index}: {one_line(error)}", style="red")
    return [result.value for result in done if result.value is not None]


async def _timer(console: Console, fake: FakeGlobus, clients: Clients, flow_id: str) -> None:
    """Create a timer firing every minute, let three and a half minutes pass, show its runs."""
    _section(console, "7. A timer starting a run every minute (TimersClient)")
    timers = clients.timers
    timer = await timers.create_flow_timer(
        flow_id,
        {"scan": "hourly check"},
        name="Every minute",
        schedule={"type": "recurring", "interval_seconds": 60},
    )
    console.print(f"Created timer {timer.timer_id}; moving the clock 210 s forward...")
    fake.clock.advance(210)
    _show(console, _timer_runs_table(await timers.list_all_runs(timer.timer_id)))
    now = await timers.run_timer(timer.timer_id)
    console.print(f"run_timer started run {now.id} at once, outside the schedule.")
    await timers.delete_timer(timer.timer_id)


@click.command()
def demo() -> None:
    """Show the library at work on an in-process emulator (no account, no network)."""

    async def main() -> None:
        console = make_console()
        console.width = min(console.width, WIDTH)  # a pipe's console would be wider
        await run_demo(console)

    try:
        run(main)
    except ImportError as error:  # the emulator's app needs the testing extra
        raise Failure(f'{error}: from a checkout, pip install ".[cli,testing]"') from None
