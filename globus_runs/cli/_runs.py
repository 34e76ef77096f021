"""``globus-runs runs ...``: list, show, update, cancel, delete, resume, wait for and watch runs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import nullcontext
from datetime import datetime

import anyio
import click
from rich.console import Console
from rich.live import Live
from rich.spinner import Spinner

from .._errors import WaitTimeoutError
from .._events import (
    RunEvent,
    RunLogEvent,
    RunNeedsConsentEvent,
    RunStatusEvent,
    RunWaitingForInputEvent,
)
from .._models import Run, RunStatus
from ..flows import FlowsClient, WaitProgress
from ._config import open_clients
from ._feedback import WaitDisplay
from ._inputs import consent_lines
from ._options import (
    Exit,
    Format,
    count_line,
    datetime_option,
    fetch_limit,
    format_option,
    limit_option,
    run,
    settings_of,
    trim,
    wait_options,
)
from ._output import (
    emit_json,
    emit_json_line,
    log_line,
    log_table,
    make_console,
    outcome_document,
    run_details,
    run_document,
    run_status,
    run_status_text,
    runs_table,
)

__all__ = ["report_wait", "runs", "wait_and_report", "waiting_text"]

_ROLES = ["run_owner", "run_manager", "run_monitor", "flow_run_manager", "flow_run_monitor"]
# Above this many runs, waits show counts and the runs that did not succeed, not every run.
_TABLE_MAX = 20


@click.group()
def runs() -> None:
    """Flow runs: list, inspect, update, cancel, wait for and watch them."""


def _show_run(run_: Run, output_format: Format) -> None:
    if output_format == "json":
        emit_json(run_document(run_))
    else:
        make_console().print(run_details(run_))


def _time_range(
    after: datetime | None, before: datetime | None
) -> tuple[datetime | None, datetime | None] | None:
    return None if after is None and before is None else (after, before)


def _or_none(values: Sequence[str]) -> list[str] | None:
    return list(values) if values else None


@runs.command("list")
@click.option("--flow-id", multiple=True, help="Only runs of this flow (repeatable).")
@click.option(
    "--status",
    multiple=True,
    type=click.Choice(sorted(RunStatus.ALL), case_sensitive=False),
    help="Only runs in this status (repeatable).",
)
@click.option("--label", multiple=True, help="Only runs with this label (repeatable).")
@click.option("--flow-title", multiple=True, help="Only runs of flows with this title.")
@click.option(
    "--role",
    multiple=True,
    type=click.Choice(_ROLES),
    help="Only runs on which you have this role (repeatable).",
)
@datetime_option("--started-after", "Started at or after (ISO 8601).")
@datetime_option("--started-before", "Started before (ISO 8601).")
@datetime_option("--completed-after", "Completed at or after.")
@datetime_option("--completed-before", "Completed before.")
@click.option(
    "--orderby", multiple=True, help='Sort order, such as "start_time DESC" (repeatable).'
)
@click.option("--per-page", type=click.IntRange(1, 50), help="Runs per request.")
@limit_option("runs")
@format_option
@click.pass_context
def list_runs(
    ctx: click.Context,
    flow_id: tuple[str, ...],
    status: tuple[str, ...],
    label: tuple[str, ...],
    flow_title: tuple[str, ...],
    role: tuple[str, ...],
    started_after: datetime | None,
    started_before: datetime | None,
    completed_after: datetime | None,
    completed_before: datetime | None,
    orderby: tuple[str, ...],
    per_page: int | None,
    limit: int,
    output_format: Format,
) -> None:
    """List the runs you can see, following pages up to --limit."""
    settings = settings_of(ctx)

    async def main() -> None:
        async with open_clients(settings) as clients:
            found = await clients.flows.list_all_runs(
                filter_flow_id=_or_none(flow_id),
                filter_status=_or_none([s.upper() for s in status]),
                filter_label=_or_none(label),
                filter_flow_title=_or_none(flow_title),
                filter_roles=_or_none(role),
                filter_start_time=_time_range(started_after, started_before),
                filter_completion_time=_time_range(completed_after, completed_before),
                orderby=_or_none(orderby),
                per_page=per_page,
                max_items=fetch_limit(limit),
            )
        shown, more = trim(found, limit)
        if output_format == "json":
            emit_json({"runs": [run_document(r) for r in shown], "more": more})
        else:
            console = make_console()
            console.print(runs_table(shown))
            console.print(count_line(len(shown), "run(s)", more=more), style="dim")

    run(main)


@runs.command("show")
@click.argument("run_id")
@click.option("--flow-description", is_flag=True, help="Include the flow's description.")
@format_option
@click.pass_context
def show(ctx: click.Context, run_id: str, flow_description: bool, output_format: Format) -> None:
    """Show one run."""
    settings = settings_of(ctx)

    async def main() -> None:
        async with open_clients(settings) as clients:
            found = await clients.flows.get_run(run_id, include_flow_description=flow_description)
        _show_run(found, output_format)

    run(main)


@runs.command("logs")
@click.argument("run_id")
@click.option("--reverse", is_flag=True, help="Newest entries first.")
@limit_option("entries", default=0)
@format_option
@click.pass_context
def logs(ctx: click.Context, run_id: str, reverse: bool, limit: int, output_format: Format) -> None:
    """Show a run's log entries (oldest first, unless --reverse)."""
    settings = settings_of(ctx)

    async def main() -> None:
        async with open_clients(settings) as clients:
            entries = await clients.flows.iter_run_logs(
                run_id,
                page_size=min(fetch_limit(limit) or 100, 100),
                reverse_order=reverse,
                max_items=fetch_limit(limit),
            ).collect()
        shown, more = trim(entries, limit)
        if output_format == "json":
            emit_json({"run_id": run_id, "entries": [entry.raw for entry in shown], "more": more})
        else:
            console = make_console()
            console.print(log_table(shown))
            if more:
                console.print(count_line(len(shown), "log entries", more=more), style="dim")

    run(main)


@runs.command("update")
@click.argument("run_id")
@click.option("--label", help="The new label.")
@click.option("--tag", multiple=True, help="Replace the tags with these (repeatable).")
@click.option("--monitor", multiple=True, help="Replace the monitors (principal URNs).")
@click.option("--manager", multiple=True, help="Replace the managers (principal URNs).")
@click.option("--clear-tags", is_flag=True, help="Remove every tag.")
@click.option("--clear-monitors", is_flag=True, help="Remove every monitor.")
@click.option("--clear-managers", is_flag=True, help="Remove every manager.")
@format_option
@click.pass_context
def update(
    ctx: click.Context,
    run_id: str,
    label: str | None,
    tag: tuple[str, ...],
    monitor: tuple[str, ...],
    manager: tuple[str, ...],
    clear_tags: bool,
    clear_monitors: bool,
    clear_managers: bool,
    output_format: Format,
) -> None:
    """Change a run's label, tags, monitors or managers; what is not given is kept."""
    lists: dict[str, list[str] | None] = {}
    for name, values, clear in (
        ("tags", tag, clear_tags),
        ("run_monitors", monitor, clear_monitors),
        ("run_managers", manager, clear_managers),
    ):
        if values and clear:
            raise click.UsageError(f"give new {name} or clear them, not both")
        lists[name] = [] if clear else _or_none(values)
    if label is None and all(value is None for value in lists.values()):
        raise click.UsageError(
            "nothing to change: give --label, --tag, --monitor, --manager, --clear-tags, "
            "--clear-monitors or --clear-managers"
        )
    settings = settings_of(ctx)

    async def main() -> None:
        async with open_clients(settings) as clients:
            updated = await clients.flows.update_run(
                run_id,
                label=label,
                tags=lists["tags"],
                run_monitors=lists["run_monitors"],
                run_managers=lists["run_managers"],
            )
        _show_run(updated, output_format)

    run(main)


@runs.command("cancel")
@click.argument("run_ids", nargs=-1, required=True)
@format_option
@click.pass_context
def cancel(ctx: click.Context, run_ids: tuple[str, ...], output_format: Format) -> None:
    """Cancel runs. Exit status 3 when a cancel failed (e.g. the run had already ended)."""
    settings = settings_of(ctx)

    async def main() -> int:
        async with open_clients(settings) as clients:
            results = await clients.flows.batch_cancel_runs(run_ids)
        documents = [outcome_document(result) for result in results]
        if output_format == "text":
            console = make_console()
            for result, document in zip(results, documents, strict=True):
                if result.value is not None:
                    status = run_status_text(result.value)
                    console.print(f"{document['run_id']}  cancel requested (", status, ")", sep="")
                else:
                    why = document["error"]["message"]
                    console.print(f"{document['run_id']}  not canceled: {why}", style="red")
        if output_format == "json":
            emit_json({"results": documents})
        return Exit.OK if all(result.ok for result in results) else Exit.NOT_ALL_SUCCEEDED

    run(main)


@runs.command("delete")
@click.argument("run_id")
@format_option
@click.pass_context
def delete(ctx: click.Context, run_id: str, output_format: Format) -> None:
    """Delete (release) a run that has ended; its record is removed from Flows."""
    settings = settings_of(ctx)

    async def main() -> None:
        async with open_clients(settings) as clients:
            released = await clients.flows.release_run(run_id)
        if output_format == "json":
            emit_json(run_document(released))
        else:
            make_console().print(f"Deleted run {released.run_id} ({run_status(released)}).")

    run(main)


@runs.command("resume")
@click.argument("run_id")
@format_option
@click.pass_context
def resume(ctx: click.Context, run_id: str, output_format: Format) -> None:
    """Resume an INACTIVE run (once what it waited for, such as consent, is given).

    What the run needs (the scopes to consent to, a sign-in) is shown on stderr first. Exit
    status 3 when the run is still INACTIVE afterwards: its consent is still missing.
    """
    settings = settings_of(ctx)

    async def main() -> int:
        async with open_clients(settings) as clients:
            paused = await clients.flows.get_run(run_id)
            reason = paused.inactive_reason
            if reason is not None and reason.needs_consent:
                notes = make_console(stderr=True)
                notes.print(f"Run {run_id} needs:", markup=False)
                for line in consent_lines(reason):
                    notes.print(f"  {line}", markup=False)
            resumed = await clients.flows.resume_run(run_id, flow_id=paused.flow_id)
        _show_run(resumed, output_format)
        if resumed.status == RunStatus.INACTIVE:
            make_console(stderr=True).print(
                f"Run {run_id} is still INACTIVE: give what it needs, then resume it again.",
                markup=False,
            )
            return Exit.NOT_ALL_SUCCEEDED
        return Exit.OK

    run(main)


def report_wait(finished: Sequence[Run], output_format: Format, *, timed_out: bool = False) -> int:
    """Show the runs a wait ended with; the exit status (0 only if every run SUCCEEDED).

    JSON: ``{"runs": [run, ...], "all_succeeded": bool, "timed_out": bool}``.
    """
    all_succeeded = not timed_out and all(r.status == RunStatus.SUCCEEDED for r in finished)
    if output_format == "json":
        emit_json(
            {
                "runs": [run_document(r) for r in finished],
                "all_succeeded": all_succeeded,
                "timed_out": timed_out,
            }
        )
    else:
        console = make_console()
        shown = list(finished)
        if len(shown) > _TABLE_MAX:
            shown = [r for r in finished if r.status != RunStatus.SUCCEEDED][:_TABLE_MAX]
        if shown:
            console.print(runs_table(shown))
        counts: dict[str, int] = {}
        for finished_run in finished:
            shown_status = run_status(finished_run)
            counts[shown_status] = counts.get(shown_status, 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        console.print(f"{len(finished)} run(s): {summary or 'none'}")
    if timed_out:
        return Exit.TIMEOUT
    return Exit.OK if all_succeeded else Exit.NOT_ALL_SUCCEEDED


async def wait_and_report(
    waiting: Awaitable[list[Run]],
    output_format: Format,
    *,
    count: int,
    timeout: float | None,
    display: WaitDisplay | None = None,
) -> int:
    """Await ``waiting`` (a wait for ``count`` runs) and report what it ended with.

    ``display``, the wait's ``on_progress``, is shown on stderr while waiting.
    """
    try:
        with display if display is not None else nullcontext():
            finished = await waiting
    except WaitTimeoutError as error:
        last = error.last_runs or ([error.last_run] if error.last_run else [])
        code = report_wait(last, output_format, timed_out=True)
        still = count - sum(r.is_terminal for r in last)
        make_console(stderr=True).print(
            f"Gave up after {timeout} s: {still} of {count} run(s) not ended."
        )
        return code
    return report_wait(finished, output_format)


@runs.command("wait")
@click.argument("run_ids", nargs=-1, required=True)
@wait_options
@format_option
@click.pass_context
def wait(
    ctx: click.Context,
    run_ids: tuple[str, ...],
    timeout: float | None,
    poll_interval: float,
    output_format: Format,
) -> None:
    """Wait until the runs have ended (INACTIVE runs are waited for).

    The runs are waited for with wait_for_runs, which lists the runs that ended instead of
    fetching each one, and shows on stderr how many have ended and how many are in each
    status (a line per change when stderr is not a terminal), and, once per run, why a
    run is INACTIVE and the command that acts on it. Exit
    status 0 only if every run SUCCEEDED; 3 if one FAILED or ENDED; 4 on --timeout; 1 when
    the service cannot be reached (once the retries are spent).
    """
    settings = settings_of(ctx)
    display = WaitDisplay(make_console(stderr=True))

    async def main() -> int:
        async with open_clients(settings) as clients:
            pauses = PauseNotes(clients.flows, run_ids, make_console(stderr=True))

            def progress(progress: WaitProgress) -> None:
                display(progress)
                pauses.progress(progress)

            waiting = clients.flows.wait_for_runs(
                run_ids, poll_interval=poll_interval, timeout=timeout, on_progress=progress
            )
            async with anyio.create_task_group() as tg:
                tg.start_soon(pauses.follow)
                try:
                    code = await wait_and_report(
                        waiting, output_format, count=len(run_ids), timeout=timeout, display=display
                    )
                finally:
                    tg.cancel_scope.cancel()
            return code

    run(main, interrupted=lambda: stopped_waiting(run_ids, display))


@runs.command("watch")
@click.argument("run_id")
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0.01),
    default=2.0,
    show_default=True,
    help="Seconds between checks.",
)
@format_option
@click.pass_context
def watch(ctx: click.Context, run_id: str, poll_interval: float, output_format: Format) -> None:
    """Follow a run live: its status and each new log entry, until it ends.

    Exit status 0 if it SUCCEEDED, 3 otherwise. With --format json, one JSON document per
    event (JSON lines).
    """
    settings = settings_of(ctx)
    seen: list[str] = []

    async def main() -> int:
        async with open_clients(settings) as clients:
            events = _remembering(
                clients.flows.watch_run(run_id, poll_interval=poll_interval), seen
            )
            if output_format == "json":
                status = await _watch_json(run_id, events)
            else:
                status = await _watch_live(run_id, events)
        return Exit.OK if status == RunStatus.SUCCEEDED else Exit.NOT_ALL_SUCCEEDED

    def interrupted() -> str:
        last = f" (last seen {seen[-1]})" if seen else ""
        return (
            f"Interrupted: stopped watching run {run_id}{last}; the run goes on. "
            f"To follow it again: globus-runs runs watch {run_id}"
        )

    run(main, interrupted=interrupted)


async def _remembering(events: AsyncIterator[RunEvent], seen: list[str]) -> AsyncIterator[RunEvent]:
    """``events``, keeping in ``seen`` each status they report."""
    async for event in events:
        if isinstance(event, RunStatusEvent):
            seen.append(event.status)
        yield event


class PauseNotes:
    """Says on stderr, once per run, why a run waited for is ``INACTIVE`` and which
    command acts on it (answer its web input; consent, then resume it).

    Told by each progress of the wait when more runs are ``INACTIVE`` than before; it then
    fetches the runs (up to `_NOTED_MAX` of them; past that, one line for all).
    """

    def __init__(self, flows: FlowsClient, run_ids: Sequence[str], console: Console) -> None:
        self._flows = flows
        self._run_ids = list(run_ids)
        self._console = console
        self._inactive = 0
        self._wanted = anyio.Event()
        self._noted: set[str] = set()

    def progress(self, progress: WaitProgress) -> None:
        inactive = progress.counts.get(RunStatus.INACTIVE, 0)
        if inactive > self._inactive:
            self._wanted.set()
        self._inactive = inactive

    async def follow(self) -> None:
        """Note the paused runs each time more are paused; until cancelled."""
        while True:
            await self._wanted.wait()
            self._wanted = anyio.Event()
            if len(self._run_ids) > _NOTED_MAX:
                self._console.print(
                    f"{self._inactive} run(s) INACTIVE: globus-runs runs list --status "
                    "INACTIVE shows them; globus-runs runs show RUN_ID says why.",
                    markup=False,
                )
                continue
            for result in await self._flows.batch_get_runs(self._run_ids):
                paused = result.value
                if paused is None or paused.status != RunStatus.INACTIVE:
                    continue
                if paused.run_id not in self._noted:
                    self._noted.add(paused.run_id)
                    for line in pause_lines(paused):
                        self._console.print(line, markup=False, soft_wrap=True)


# Past this many runs, paused runs are counted, not fetched one by one.
_NOTED_MAX = 50


def pause_lines(paused: Run) -> list[str]:
    """Why ``paused`` (an ``INACTIVE`` run) is paused, and the command that acts on it."""
    reason = paused.inactive_reason
    code = reason.code if reason is not None and reason.code else "no reason given"
    lines = [f"Run {paused.run_id} is INACTIVE ({code})."]
    if paused.blocking_web_input_id:
        web_input = paused.blocking_web_input_id
        lines.append(
            f"  It waits for web input {web_input}: globus-runs runs inputs show {web_input}, "
            f"then globus-runs runs inputs respond {web_input} --option N"
        )
        return lines
    needs = consent_lines(reason) if reason is not None else []
    lines += [f"  {text}" for text in needs]
    if reason is not None and reason.description and not needs:
        lines.append(f"  {reason.description}")
    then = "then " if needs else ""
    lines.append(f"  {then}resume it: globus-runs runs resume {paused.run_id}")
    return lines


def stopped_waiting(run_ids: Sequence[str], display: WaitDisplay) -> str:
    """What ``runs wait`` (and ``runs start --wait``) say on Ctrl-C: how far the wait got,
    that the runs go on, and the command that waits again."""
    where = f" at {display.last}" if display.last is not None else ""
    again = " ".join(run_ids) if len(run_ids) <= 3 else "RUN_ID..."
    return (
        f"Interrupted: stopped waiting{where}; the run(s) go on. "
        f"To wait again: globus-runs runs wait {again}"
    )


def waiting_text(event: RunWaitingForInputEvent | RunNeedsConsentEvent) -> str:
    """One line saying what a person must do for the run to go on."""
    if isinstance(event, RunWaitingForInputEvent):
        return f"waiting for input: {event.title or 'untitled'} ({event.web_input_id})"
    scopes = ", ".join(event.required_scopes) or "a new sign-in"
    return f"needs consent: {scopes}"


async def _watch_json(run_id: str, events: AsyncIterator[RunEvent]) -> str | None:
    """One JSON line per event; returns the last status seen."""
    status = None
    async for event in events:
        if isinstance(event, RunLogEvent):
            emit_json_line({"event": "log", "run_id": run_id, "entry": event.entry.raw})
            continue
        if isinstance(event, RunWaitingForInputEvent):
            emit_json_line(
                {
                    "event": "waiting_for_input",
                    "run_id": run_id,
                    "web_input_id": event.web_input_id,
                    "title": event.title,
                }
            )
            continue
        if isinstance(event, RunNeedsConsentEvent):
            emit_json_line(
                {
                    "event": "needs_consent",
                    "run_id": run_id,
                    "code": event.reason.code,
                    "required_scopes": list(event.required_scopes),
                }
            )
            continue
        status = event.status
        emit_json_line(
            {
                "event": "status",
                "run_id": run_id,
                "status": event.status,
                "previous": event.previous,
                "run": run_document(event.run),
            }
        )
    return status


async def _watch_live(run_id: str, events: AsyncIterator[RunEvent]) -> str | None:
    """Log entries and status changes as they come, under a spinner with the current status."""
    console = make_console()
    status = None
    spinner = Spinner("dots", text=f"watching {run_id}")
    with Live(spinner, console=console, transient=True, refresh_per_second=8) as live:
        async for event in events:
            if isinstance(event, RunLogEvent):
                live.console.print(log_line(event.entry))
                continue
            if isinstance(event, RunWaitingForInputEvent | RunNeedsConsentEvent):
                live.console.print(waiting_text(event), markup=False)
                continue
            status = event.status
            new = run_status_text(event.run)
            new.stylize("bold")
            live.console.print("status ", event.previous or "-", " -> ", new, sep="")
            label = f" ({event.run.label})" if event.run.label else ""
            spinner.update(text=f"{run_id}{label}: {run_status(event.run)}")
    return status
