"""How results are shown: rich tables for people, JSON documents for programs.

JSON output is one document per command (``runs watch`` writes one per event, as JSON
lines). A run, a log entry and a timer are the service's own documents (the models'
``raw``); a timer's run adds the fields derived from its result (see `timer_run_document`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .._errors import APIError
from .._models import BatchResult, Run, RunLogEntry
from .._timer_models import Timer, TimerRun
from ._options import one_line

__all__ = [
    "emit_json",
    "emit_json_line",
    "error_document",
    "log_line",
    "log_table",
    "make_console",
    "outcome_document",
    "run_details",
    "run_document",
    "run_status",
    "run_status_text",
    "runs_table",
    "status_text",
    "timer_details",
    "timer_run_document",
    "timer_runs_table",
    "timers_table",
]

# Wide enough for ids and times when the output is a file or a pipe, which has no width.
_PIPE_WIDTH = 200

_STATUS_STYLES = {
    "SUCCEEDED": "green",
    "FAILED": "red",
    "ENDED": "magenta",
    "ACTIVE": "cyan",
    "INACTIVE": "yellow",
    "success": "green",
    "failure": "red",
    "in_progress": "cyan",
    "pending": "yellow",
}


def make_console(*, stderr: bool = False) -> Console:
    """A console on stdout (or stderr): colours on a terminal, plain text elsewhere."""
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = _PIPE_WIDTH
    return console


def emit_json(document: Any) -> None:
    """Write one JSON document to stdout."""
    click.echo(json.dumps(document, indent=2, ensure_ascii=False, default=str))


def emit_json_line(document: Any) -> None:
    """Write one JSON document on one line (for streams of events)."""
    click.echo(json.dumps(document, ensure_ascii=False, default=str))


# -- documents ---------------------------------------------------------------------------


def run_document(run: Run) -> dict[str, Any]:
    """The run as Flows described it (``run.raw``)."""
    if run.raw:
        return run.raw
    return {"run_id": run.run_id, "flow_id": run.flow_id, "status": run.status}


def error_document(error: BaseException) -> dict[str, Any]:
    """``{"type", "message"}``, plus ``http_status`` and ``code`` for a service's answer."""
    document: dict[str, Any] = {"type": type(error).__name__, "message": one_line(error)}
    if isinstance(error, APIError):
        document.update(http_status=error.http_status, code=error.code)
    return document


def outcome_document(result: BatchResult[Run]) -> dict[str, Any]:
    """One item of a batch on runs: ``{"run_id", "ok": true, "run"}`` or ``{"run_id",
    "ok": false, "error"}``."""
    document: dict[str, Any] = {"run_id": result.input, "ok": result.ok}
    if result.value is not None:
        document["run"] = run_document(result.value)
    elif result.error is not None:
        document["error"] = error_document(result.error)
    return document


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def timer_run_document(run: TimerRun) -> dict[str, Any]:
    """A timer's run: its derived fields, and the service's result document as ``raw``.

    ``{"id", "timer_id", "status", "start_time", "end_time", "result": {"status",
    "status_code", "run_id", "error": {"code", "message", "detail"} | null}, "raw"}``
    """
    error = run.result.error
    return {
        "id": run.id,
        "timer_id": run.timer_id,
        "status": run.status,
        "start_time": _iso(run.start_time),
        "end_time": _iso(run.end_time),
        "result": {
            "status": run.result.status,
            "status_code": run.result.status_code,
            "run_id": run.result.run_id,
            "error": None
            if error is None
            else {"code": error.code, "message": error.message, "detail": error.detail},
        },
        "raw": run.raw,
    }


# -- text --------------------------------------------------------------------------------


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment is not None else "-"


def status_text(status: str | None) -> Text:
    """A status, coloured by what it means."""
    if status is None:
        return Text("-")
    return Text(status, style=_STATUS_STYLES.get(status, ""))


def run_status(run: Run) -> str:
    """The status shown for a run: ``FAILED (canceled)`` for a canceled run, else its status."""
    return f"{run.status} (canceled)" if run.was_canceled else run.status


def run_status_text(run: Run) -> Text:
    """`run_status`, coloured by the run's status."""
    return Text(run_status(run), style=_STATUS_STYLES.get(run.status, ""))


def _table(*columns: str) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in columns:
        table.add_column(column, no_wrap=column.endswith("ID"))
    return table


def runs_table(runs: Iterable[Run]) -> Table:
    """One line per run: id, status, label, flow, start and completion times."""
    table = _table("RUN ID", "STATUS", "LABEL", "FLOW", "STARTED", "COMPLETED")
    for run in runs:
        table.add_row(
            run.run_id,
            run_status_text(run),
            run.label or "",
            run.flow_title or run.flow_id,
            _when(run.start_time),
            _when(run.completion_time),
        )
    return table


def _fields(rows: Iterable[tuple[str, Any]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for name, value in rows:
        grid.add_row(name, value if isinstance(value, Text) else str(value))
    return grid


def run_details(run: Run) -> Table:
    """The fields of one run, one per line."""
    rows: list[tuple[str, Any]] = [
        ("Run ID", run.run_id),
        ("Status", run_status_text(run)),
        ("Label", run.label or "-"),
        ("Flow", f"{run.flow_title or '-'} ({run.flow_id})"),
        ("Tags", ", ".join(run.tags) or "-"),
        ("Started", _when(run.start_time)),
        ("Completed", _when(run.completion_time)),
        ("Owner", run.run_owner or "-"),
        ("Managers", ", ".join(run.run_managers) or "-"),
        ("Monitors", ", ".join(run.run_monitors) or "-"),
        ("Your role", run.user_role or "-"),
    ]
    if run.display_status and run.display_status != run.status:
        rows.insert(2, ("Display status", run.display_status))
    if run.error is not None:
        rows.append(("Error", f"{run.error.code}: {run.error.description}"))
    return _fields(rows)


def log_line(entry: RunLogEntry) -> Text:
    """One log entry on one line: time, code, description."""
    line = Text(_when(entry.time) + "  ", style="dim")
    line.append(f"{entry.code:<18}", style="bold")
    line.append(" " + entry.description)
    return line


def log_table(entries: Iterable[RunLogEntry]) -> Table:
    """A run's log entries."""
    table = _table("TIME", "CODE", "DESCRIPTION")
    for entry in entries:
        table.add_row(_when(entry.time), entry.code, entry.description)
    return table


def timers_table(timers: Iterable[Timer]) -> Table:
    """One line per timer: id, name, status, flow, runs, errors, next run."""
    table = _table("TIMER ID", "NAME", "STATUS", "FLOW ID", "RUNS", "ERRORS", "NEXT RUN")
    for timer in timers:
        table.add_row(
            timer.timer_id,
            timer.name or "",
            timer.status or "-",
            timer.flow_id or "-",
            str(timer.number_of_runs),
            str(timer.number_of_errors),
            _when(timer.next_run),
        )
    return table


def _schedule(schedule: Mapping[str, Any] | None) -> str:
    if not schedule:
        return "-"
    if schedule.get("type") == "recurring":
        return f"every {schedule.get('interval_seconds')} s"
    return str(schedule.get("type", "-"))


def timer_details(timer: Timer) -> Table:
    """The fields of one timer, one per line."""
    rows: list[tuple[str, Any]] = [
        ("Timer ID", timer.timer_id),
        ("Name", timer.name or "-"),
        ("Type", timer.timer_type or "-"),
        ("Status", timer.status or "-"),
        ("Flow", timer.flow_id or "-"),
        ("Schedule", _schedule(timer.schedule)),
        ("Submitted", _when(timer.submitted_at)),
        ("Last ran", _when(timer.last_ran_at)),
        ("Next run", _when(timer.next_run)),
        ("Runs", timer.number_of_runs),
        ("Errors", timer.number_of_errors),
    ]
    if timer.inactive_reason:
        rows.append(("Inactive because", timer.inactive_reason.get("cause", "-")))
    return _fields(rows)


def timer_runs_table(runs: Iterable[TimerRun]) -> Table:
    """One line per timer run: the run it started, status, times, outcome."""
    table = _table("RUN ID", "STATUS", "STARTED", "ENDED", "RESULT")
    for run in runs:
        result = run.result
        outcome = result.status or "-"
        if result.error is not None:
            outcome = f"{result.error.code}: {result.error.message}"
        table.add_row(
            run.id or "-",
            status_text(run.status),
            _when(run.start_time),
            _when(run.end_time),
            outcome,
        )
    return table
