"""``globus-runs runs start FLOW_ID``: start one run, and optionally wait for it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from .._models import Run
from ._config import open_clients
from ._feedback import WaitDisplay
from ._options import Format, format_option, run, settings_of, wait_options
from ._output import emit_json, make_console, run_details, run_document
from ._runs import stopped_waiting, wait_and_report

__all__ = ["start_run"]

_NOTIFY = ["INACTIVE", "SUCCEEDED", "FAILED"]


def _flow_input(ctx: click.Context, param: click.Parameter, value: str | None) -> dict[str, Any]:
    """``--input``: a JSON object, ``@FILE`` holding one, or ``-`` for stdin."""
    if value is None:
        return {}
    where = "the input"
    try:
        if value == "-":
            where, text = "stdin", sys.stdin.read()
        elif value.startswith("@"):
            where = value[1:]
            text = Path(where).read_text(encoding="utf-8")
        else:
            text = value
    except (OSError, UnicodeDecodeError) as error:
        raise click.BadParameter(f"cannot read {where}: {error}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise click.BadParameter(
            f"{where} is not JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    if not isinstance(document, dict):
        raise click.BadParameter(f"{where} must be a JSON object (the flow's input)")
    return document


@click.command("start")
@click.argument("flow_id")
@click.option(
    "--input",
    "body",
    metavar="JSON|@FILE|-",
    callback=_flow_input,
    help="The flow's input: a JSON object, @FILE holding one, or - to read stdin (default: {}).",
)
@click.option("--label", help="The run's label.")
@click.option("--tag", multiple=True, help="A tag (repeatable).")
@click.option("--manager", multiple=True, help="A run manager, a principal URN (repeatable).")
@click.option("--monitor", multiple=True, help="A run monitor, a principal URN (repeatable).")
@click.option(
    "--activity-notification-policy",
    "notify",
    multiple=True,
    type=click.Choice(_NOTIFY, case_sensitive=False),
    help="Email the run's owner when it becomes this status (repeatable).",
)
@click.option("--wait", is_flag=True, help="Wait until the run has ended (as runs wait).")
@wait_options
@format_option
@click.pass_context
def start_run(
    ctx: click.Context,
    flow_id: str,
    body: dict[str, Any],
    label: str | None,
    tag: tuple[str, ...],
    manager: tuple[str, ...],
    monitor: tuple[str, ...],
    notify: tuple[str, ...],
    wait: bool,
    timeout: float | None,
    poll_interval: float,
    output_format: Format,
) -> None:
    """Start one run of FLOW_ID.

    Prints the new run (with --format json, Flows' run document). With --wait, waits for
    it as runs wait does (--timeout, --poll-interval) and exits as runs wait: 0 if it
    SUCCEEDED, 3 if it FAILED or ENDED, 4 on --timeout; the run's id is written on stderr
    as soon as it has started.
    """
    settings = settings_of(ctx)
    display = WaitDisplay(make_console(stderr=True))
    made: list[Run] = []

    async def main() -> int | None:
        async with open_clients(settings) as clients:
            started = await clients.flows.run_flow(
                flow_id,
                body,
                label=label,
                tags=list(tag) or None,
                run_managers=list(manager) or None,
                run_monitors=list(monitor) or None,
                activity_notification_policy=[s.upper() for s in notify] or None,
            )
            made.append(started)
            if not wait:
                _show_started(started, output_format)
                return None
            make_console(stderr=True).print(f"Started run {started.run_id}; waiting for it.")
            # A Run needs no first look-up.
            waiting = clients.flows.wait_for_runs(
                [started], poll_interval=poll_interval, timeout=timeout, on_progress=display
            )
            return await wait_and_report(
                waiting, output_format, count=1, timeout=timeout, display=display
            )

    def interrupted() -> str:
        if made:
            return stopped_waiting([made[0].run_id], display)
        return (
            "Interrupted while starting the run: it may have started. To look: "
            f"globus-runs runs list --flow-id {flow_id}"
        )

    run(main, interrupted=interrupted)


def _show_started(started: Run, output_format: Format) -> None:
    if output_format == "json":
        emit_json(run_document(started))
    else:
        make_console().print(run_details(started))
