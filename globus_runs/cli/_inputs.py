"""``globus-runs runs inputs ...`` and ``batch resume``: runs that wait for a person.

Web inputs are listed, shown (their context as text or a table, the options numbered) and
answered; paused runs are resumed, saying first what consent they need.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.table import Table
from rich.text import Text

from .._consent import InactiveReason, group_by_consent
from .._models import BatchResult, Run, RunStatus
from .._web_input_models import WebInput, WebInputSummary
from ._config import open_clients
from ._options import Exit, Failure, Format, format_option, progress_option, run, settings_of
from ._output import emit_json, error_document, make_console, run_document
from ._progress import BatchProgress
from ._results import InputError, read_results, recorded_runs

__all__ = ["batch_resume", "consent_lines", "inputs"]


def _iso(summary: WebInputSummary | WebInput, name: str) -> str | None:
    moment = getattr(summary, name)
    return moment.isoformat() if moment is not None else None


def summary_document(summary: WebInputSummary) -> dict[str, Any]:
    """A listed web input as the service described it (``raw``)."""
    return summary.raw or {"id": summary.id, "status": summary.status, "title": summary.title}


@click.group(invoke_without_command=True)
@click.option("--run", "run_ids", multiple=True, help="Only inputs of this run (repeatable).")
@click.option("--flow", "flow_ids", multiple=True, help="Only inputs of this flow (repeatable).")
@click.option(
    "--state",
    type=click.Choice(["open", "closed"]),
    help="Only open (waiting for an answer) or closed inputs.",
)
@click.option(
    "--role",
    type=click.Choice(["viewer", "respondent"]),
    help="Only inputs on which you have this role.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=25,
    show_default=True,
    help="Show at most this many inputs (0: all of them).",
)
@format_option
@click.pass_context
def inputs(
    ctx: click.Context,
    run_ids: tuple[str, ...],
    flow_ids: tuple[str, ...],
    state: str | None,
    role: str | None,
    limit: int,
    output_format: Format,
) -> None:
    """Web inputs: questions runs wait on. Without a command, list them.

    Use "inputs show ID" to read one and "inputs respond ID" to answer it.
    """
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_of(ctx)

    async def main() -> None:
        async with open_clients(settings) as clients:
            found = await clients.flows.iter_web_inputs(
                filter_run_ids=list(run_ids) or None,
                filter_flow_ids=list(flow_ids) or None,
                filter_states=state,
                filter_roles=role,
                max_items=limit or None,
            ).collect()
        if output_format == "json":
            emit_json({"web_inputs": [summary_document(s) for s in found]})
            return
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        for column in ("WEB INPUT ID", "STATE", "TITLE", "RUN", "YOUR ROLES"):
            table.add_column(column, no_wrap=column.endswith("ID"))
        for summary in found:
            run_ = summary.run
            table.add_row(
                summary.id,
                summary.status,
                summary.title or "",
                (run_.label or run_.id) if run_ is not None else "-",
                ", ".join(summary.user_roles) or "-",
            )
        make_console().print(table)

    run(main)


def _context(web_input: WebInput) -> Text | Table:
    context = web_input.context
    if context.presentation_style == "table" and context.rows:
        columns = list(dict.fromkeys(key for row in context.rows for key in row))
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        for column in columns:
            table.add_column(column.upper())
        for row in context.rows:
            table.add_row(*(str(row.get(column, "")) for column in columns))
        return table
    return Text(context.text or "")


@inputs.command("show")
@click.argument("web_input_id")
@format_option
@click.pass_context
def show(ctx: click.Context, web_input_id: str, output_format: Format) -> None:
    """Show a web input: its question, its context and its options, numbered."""
    settings = settings_of(ctx)

    async def main() -> None:
        async with open_clients(settings) as clients:
            web_input = await clients.flows.get_web_input(web_input_id)
        if output_format == "json":
            emit_json(web_input.raw)
            return
        console = make_console()
        closed = f", closed {_iso(web_input, 'closed_timestamp')}" if not web_input.is_open else ""
        console.print(Text(web_input.title or "(untitled)", style="bold"))
        where = web_input.run.label or web_input.run.id if web_input.run else "-"
        console.print(f"{web_input.id}  {web_input.status}{closed}  run: {where}", markup=False)
        console.print(_context(web_input))
        for number, option in enumerate(web_input.options, 1):
            line = f"  {number}. {option.label}"
            if option.description:
                line += f": {option.description}"
            console.print(line, markup=False)
        if web_input.is_open and web_input.can_respond:
            console.print(f"Answer with: globus-runs runs inputs respond {web_input.id} --option N")

    run(main)


def _value_of(web_input: WebInput, option: int | None, value: Any) -> Any:
    if option is None:
        return value
    if not 1 <= option <= len(web_input.options):
        raise Failure(f"--option must be from 1 to {len(web_input.options)}")
    return web_input.options[option - 1].option_id


@inputs.command("respond")
@click.argument("web_input_id")
@click.option("--option", type=int, help="The number of the option (as inputs show lists it).")
@click.option("--value", "value_text", metavar="JSON", help="The answer itself, as JSON.")
@format_option
@click.pass_context
def respond(
    ctx: click.Context,
    web_input_id: str,
    option: int | None,
    value_text: str | None,
    output_format: Format,
) -> None:
    """Answer a web input with one of its options (--option N) or a value (--value JSON)."""
    if (option is None) == (value_text is None):
        raise click.UsageError("give exactly one of --option N and --value JSON")
    value: Any = None
    if value_text is not None:
        try:
            value = json.loads(value_text)
        except ValueError as error:
            raise click.BadParameter(f"not JSON: {error}", param_hint="--value") from None
    settings = settings_of(ctx)

    async def main() -> None:
        async with open_clients(settings) as clients:
            label = None
            answer = value
            if option is not None:
                web_input = await clients.flows.get_web_input(web_input_id)
                answer = _value_of(web_input, option, value)
                label = web_input.options[option - 1].label
            await clients.flows.respond_to_web_input(web_input_id, answer)
        if output_format == "json":
            emit_json({"web_input_id": web_input_id, "value": answer, "ok": True})
        else:
            chosen = f"{label} ({answer})" if label else json.dumps(answer)
            make_console().print(f"Answered {web_input_id}: {chosen}", markup=False)

    run(main)


def consent_lines(reason: InactiveReason) -> list[str]:
    """What a person must do before a paused run can go on, one line each."""
    lines = []
    if reason.required_scopes:
        lines.append("consent to: " + " ".join(reason.required_scopes))
    params = reason.authorization_parameters
    if params is not None:
        if params.session_required_identities:
            lines.append("sign in as: " + ", ".join(params.session_required_identities))
        if params.session_required_policies:
            lines.append("meet policies: " + ", ".join(params.session_required_policies))
        if params.session_message:
            lines.append(params.session_message)
    return lines


def _records(results: Path) -> dict[int, dict[str, Any]]:
    try:
        return read_results(results)
    except (InputError, OSError) as error:
        raise Failure(str(error)) from None


def _resume_document(line: int, result: BatchResult[Run]) -> dict[str, Any]:
    run_ = result.input
    document: dict[str, Any] = {"line": line, "run_id": run_.run_id, "ok": result.ok}
    if result.value is not None:
        document["run"] = run_document(result.value)
        document["still_inactive"] = result.value.status == RunStatus.INACTIVE
    elif result.error is not None:
        document["error"] = error_document(result.error)
    return document


@click.command("resume")
@click.argument("results", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--concurrency",
    type=click.IntRange(1, 100),
    default=10,
    show_default=True,
    help="Requests in flight at once.",
)
@progress_option
@format_option
@click.pass_context
def batch_resume(
    ctx: click.Context, results: Path, concurrency: int, progress: bool, output_format: Format
) -> None:
    """Resume the INACTIVE runs recorded in RESULTS (a file written by batch start).

    Each run is looked at first; the paused ones are grouped by the consent they need,
    which is shown, then resumed. Runs not INACTIVE are left alone, so an interrupted
    resume goes on by running the same command again. Exit status 3 when a resume failed
    or a run is still INACTIVE (its consent is still missing), 130 when interrupted.
    """
    settings = settings_of(ctx)
    started = recorded_runs(_records(results))
    line_of = {found.run_id: line for line, found in started}
    answered: set[str] = set()

    async def main() -> int:
        async with open_clients(settings, concurrency=concurrency) as clients:
            flows = clients.flows
            looked = await flows.batch_get_runs(list(line_of), concurrency=concurrency)
            failed_lookups = [r for r in looked if not r.ok]
            paused = [
                r.unwrap() for r in looked if r.ok and r.unwrap().status == RunStatus.INACTIVE
            ]
            groups = group_by_consent(paused)
            notes = make_console(stderr=True)
            for group in groups:
                reason = group.runs[0].inactive_reason
                lines = consent_lines(reason) if reason is not None else []
                notes.print(f"{len(group.runs)} run(s) need:", markup=False)
                for text in lines or ["nothing known (paused for another reason)"]:
                    notes.print(f"  {text}", markup=False)
            documents: list[dict[str, Any]] = []
            with BatchProgress(
                notes,
                len(paused),
                description="Resuming runs",
                ok_label="resumed",
                enabled=progress,
            ) as bar:
                async with flows.stream_resume_runs(paused, concurrency=concurrency) as out:
                    async for result in out:
                        answered.add(result.input.run_id)
                        doc = _resume_document(line_of[result.input.run_id], result)
                        documents.append(doc)
                        bar.advance(result.ok and not doc["still_inactive"])
        for lookup in failed_lookups:
            assert lookup.error is not None
            documents.append(
                {
                    "line": line_of[lookup.input],
                    "run_id": lookup.input,
                    "ok": False,
                    "error": error_document(lookup.error),
                }
            )
        documents.sort(key=lambda document: int(document["line"]))
        resumed = sum(1 for d in documents if d["ok"] and not d["still_inactive"])
        still = sum(1 for d in documents if d["ok"] and d["still_inactive"])
        failed = sum(1 for d in documents if not d["ok"])
        skipped = len(line_of) - len(paused) - len(failed_lookups)
        if output_format == "json":
            emit_json({"results": documents, "skipped": skipped})
        else:
            console = make_console()
            for document in documents:
                if not document["ok"]:
                    message = document["error"]["message"]
                    console.print(f"{document['run_id']}  not resumed: {message}", markup=False)
            console.print(
                f"Resumed {resumed} run(s); {still} still INACTIVE; {failed} failed; "
                f"{skipped} not INACTIVE."
            )
        return Exit.NOT_ALL_SUCCEEDED if failed or still else Exit.OK

    run(
        main,
        interrupted=lambda: (
            f"Interrupted with {len(answered)} resume(s) answered: run the same command again "
            "to resume the rest (a run already resumed is no longer INACTIVE and is left "
            "alone)."
        ),
    )
