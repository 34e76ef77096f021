"""Commands on many runs at once: ``batch tag``, ``batch cancel --bulk``, ``batch rerun`` and
``runs summary``.

``batch rerun`` writes a results file like ``batch start``'s, each record naming the run it
repeats (``"rerun_of"``); running the same command again reruns only what is left.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.table import Table

from .._batch import stream_batch
from .._models import BatchResult, Run, RunStatus
from .._retry import RetryPolicy
from .._summary import RunSummary, SummaryBuilder
from ..flows._fleet import DEFAULT_CHUNK_SIZE, rerun_one
from ._config import Settings, open_clients
from ._intents import Remaining, resolve_unfinished, start_recorded
from ._options import (
    RESULTS_PATH,
    Exit,
    Failure,
    Format,
    datetime_option,
    format_option,
    progress_option,
    run,
    settings_of,
)
from ._output import emit_json, error_document, make_console
from ._progress import BatchProgress
from ._results import (
    BatchLog,
    InputError,
    ResultsWriter,
    read_batch,
    recorded_runs,
    run_record,
)

__all__ = ["bulk_cancel", "report_torn", "rerun", "summary", "tag"]

_EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)
_STATUSES = click.Choice(sorted(RunStatus.TERMINAL | {"ACTIVE", "INACTIVE"}))


def _log(results: Path) -> BatchLog:
    try:
        return read_batch(results)
    except (InputError, OSError) as error:
        raise Failure(str(error)) from None


def _recorded(results: Path) -> list[tuple[int, Run]]:
    return recorded_runs(_log(results).records)


def report_torn(log: BatchLog, results: Path) -> None:
    """Say on stderr where records were cut short, and what is done about each."""
    for torn in log.torn:
        click.echo(torn.note(results), err=True)


def _chunk_size_option(function: Any) -> Any:
    return click.option(
        "--chunk-size",
        type=click.IntRange(1, 1000),
        default=DEFAULT_CHUNK_SIZE,
        show_default=True,
        help="Run ids per POST /batch/runs request.",
    )(function)


def _chunk_documents(chunks: Sequence[BatchResult[list[str]]]) -> list[dict[str, Any]]:
    documents = []
    for chunk in chunks:
        document: dict[str, Any] = {"run_ids": list(chunk.input), "ok": chunk.ok}
        if chunk.error is not None:
            document["error"] = error_document(chunk.error)
        documents.append(document)
    return documents


def _report_refused(chunks: Sequence[BatchResult[list[str]]]) -> None:
    console = make_console()
    for chunk in chunks:
        if chunk.error is not None:
            message = error_document(chunk.error)["message"]
            console.print(f"{len(chunk.input)} run(s) refused: {message}", style="red")


# -- batch tag ---------------------------------------------------------------------------


@click.command("tag")
@click.argument("results", type=_EXISTING)
@click.option("--add", "add", multiple=True, metavar="TAG", help="Add this tag (repeatable).")
@click.option(
    "--remove", "remove", multiple=True, metavar="TAG", help="Remove this tag (repeatable)."
)
@_chunk_size_option
@format_option
@click.pass_context
def tag(
    ctx: click.Context,
    results: Path,
    add: tuple[str, ...],
    remove: tuple[str, ...],
    chunk_size: int,
    output_format: Format,
) -> None:
    """Add or remove tags on every run recorded in RESULTS (a file written by batch start).

    The runs are changed in a few POST /batch/runs requests (--chunk-size ids each). Exit
    status 3 when a request was refused (its runs are listed in the JSON output).
    """
    if not add and not remove:
        raise click.UsageError("give at least one --add or --remove")
    settings = settings_of(ctx)
    run_ids = [found.run_id for _, found in _recorded(results)]

    async def main() -> int:
        async with open_clients(settings) as clients:
            chunks = await clients.flows.update_runs(
                run_ids,
                add_tags=list(add) or None,
                remove_tags=list(remove) or None,
                chunk_size=chunk_size,
            )
        updated = sum(len(chunk.input) for chunk in chunks if chunk.ok)
        refused = sum(len(chunk.input) for chunk in chunks if not chunk.ok)
        if output_format == "json":
            emit_json(
                {
                    "requests": len(chunks),
                    "updated": updated,
                    "refused": refused,
                    "chunks": _chunk_documents(chunks),
                }
            )
        else:
            _report_refused(chunks)
            make_console().print(
                f"Tagged {updated} run(s) in {len(chunks)} request(s); {refused} refused."
            )
        return Exit.NOT_ALL_SUCCEEDED if refused else Exit.OK

    run(main)


# -- batch cancel --bulk -----------------------------------------------------------------


def bulk_cancel(
    settings: Settings,
    results: Path,
    *,
    chunk_size: int,
    confirm: bool,
    timeout: float | None,
    poll_interval: float,
    output_format: Format,
) -> None:
    """``batch cancel --bulk``: cancel the runs of RESULTS with ``POST /batch/runs``."""
    started = [found for _, found in _recorded(results)]

    async def main() -> int:
        async with open_clients(settings) as clients:
            outcome = await clients.flows.bulk_cancel_runs(
                started,
                chunk_size=chunk_size,
                confirm=confirm,
                poll_interval=poll_interval,
                timeout=timeout,
            )
        asked = sum(len(chunk.input) for chunk in outcome.chunks if chunk.ok)
        if output_format == "json":
            document: dict[str, Any] = {
                "requests": len(outcome.chunks),
                "asked": asked,
                "refused": outcome.refused,
                "chunks": _chunk_documents(outcome.chunks),
            }
            if confirm:
                document.update(
                    canceled=[r.run_id for r in outcome.canceled],
                    ended=[r.run_id for r in outcome.ended],
                    unfinished=[r.run_id for r in outcome.unfinished],
                )
            emit_json(document)
        else:
            _report_refused(outcome.chunks)
            console = make_console()
            console.print(
                f"Asked to cancel {asked} run(s) in {len(outcome.chunks)} request(s); "
                f"{len(outcome.refused)} refused."
            )
            if confirm:
                console.print(
                    f"{len(outcome.canceled)} ended canceled, {len(outcome.ended)} had "
                    f"already ended, {len(outcome.unfinished)} not ended yet."
                )
        return Exit.OK if outcome.ok else Exit.NOT_ALL_SUCCEEDED

    run(main)


# -- batch rerun -------------------------------------------------------------------------


def _rerun_label(prefix: str | None, old: str | None) -> str | None:
    if prefix is None:
        return None  # keep the old label
    return f"{prefix}{old or ''}"


@click.command("rerun")
@click.option("--flow-id", required=True, help="Rerun runs of this flow.")
@click.option(
    "--status",
    "statuses",
    type=_STATUSES,
    multiple=True,
    default=["FAILED"],
    show_default=True,
    help="Rerun runs with this status (repeatable).",
)
@datetime_option("--since", "Only runs started at or after this time.")
@click.option("--label-prefix", help="Label each rerun with this prefix and the old label.")
@click.option("--tag", "tags", multiple=True, help="Tag each rerun with this too (repeatable).")
@click.option(
    "--output",
    "-o",
    type=RESULTS_PATH,
    required=True,
    help="Results file (JSON lines); run again with the same file to rerun only what is left.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 100),
    default=10,
    show_default=True,
    help="Reruns in flight at once.",
)
@click.option("--dry-run", is_flag=True, help="List the runs that would be rerun, and stop.")
@progress_option
@format_option
@click.pass_context
def rerun(
    ctx: click.Context,
    flow_id: str,
    statuses: tuple[str, ...],
    since: datetime | None,
    label_prefix: str | None,
    tags: tuple[str, ...],
    output: Path,
    concurrency: int,
    dry_run: bool,
    progress: bool,
    output_format: Format,
) -> None:
    """Start again, with the same input, the runs of --flow-id that ended with --status.

    A list query chooses the runs (oldest first). Each rerun keeps the old label (or gets
    --label-prefix before it), the old tags and managers, plus --tag and rerun-of:<old run
    id>. Each start is made exactly once. Results go to --output, one JSON line per run:
    {"line", "rerun_of", "run_id", ...} or {"line", "rerun_of", "error"}; runs already rerun
    there (and the reruns themselves) are skipped, so an interrupted rerun is resumed by
    running the same command again: a rerun sent but not recorded (Ctrl-C, a kill, a
    crash) is found by its request tag, never started twice. Exit status 3 when a run
    could not be rerun, 130 when interrupted.
    """
    settings = settings_of(ctx)
    log = _log(output)
    report_torn(log, output)
    left = Remaining()

    async def main() -> int:
        retry = RetryPolicy(exactly_once_starts=True)
        async with open_clients(settings, concurrency=concurrency, retry=retry) as clients:
            flows = clients.flows
            with ResultsWriter(output) as writer:
                # A rerun sent but not recorded (Ctrl-C, a kill) is found by its tag first:
                # it is neither started again nor taken for a run to rerun.
                found = await resolve_unfinished(flows, flow_id, log, None if dry_run else writer)
                records = {**log.records}
                for line, new in found.items():
                    records[line] = {"line": line, "run_id": new.run_id, **log.lines[line].extra}
                line_of = {r["rerun_of"]: line for line, r in records.items() if "rerun_of" in r}
                done = {
                    r["rerun_of"] for r in records.values() if "rerun_of" in r and "run_id" in r
                }
                reruns = {r["run_id"] for r in records.values() if "run_id" in r}
                chosen = [
                    found_run
                    for found_run in await flows.list_all_runs(
                        filter_flow_id=flow_id,
                        filter_status=list(statuses),
                        filter_start_time=(since, None) if since is not None else None,
                        orderby="start_time ASC",
                        per_page=50,
                    )
                    if found_run.run_id not in done and found_run.run_id not in reruns
                ]
                if dry_run:
                    _report_chosen(chosen, output_format)
                    return Exit.OK
                left.count = len(chosen)
                next_line = max(records, default=0) + 1
                for found_run in chosen:
                    if found_run.run_id not in line_of:
                        line_of[found_run.run_id] = next_line
                        next_line += 1

                async def again(old: Run) -> Run:
                    label = _rerun_label(label_prefix, old.label)

                    async def send(tag: str) -> Run:
                        return await rerun_one(flows, old, label, [*tags, tag])

                    line = line_of[old.run_id]
                    return await clients.abandonable(
                        lambda: start_recorded(writer, line, flow_id, send, rerun_of=old.run_id)
                    )

                with BatchProgress(
                    make_console(stderr=True),
                    len(chosen),
                    description="Rerunning",
                    ok_label="started",
                    enabled=progress,
                ) as bar:
                    stops = flows._stops()
                    clients.stop_retrying_once_unreachable(stops)
                    async with stream_batch(
                        chosen,
                        again,
                        concurrency=flows._concurrency(concurrency),
                        stops=stops,
                    ) as outcomes:
                        async for outcome in outcomes:
                            old = outcome.input
                            record = run_record(line_of[old.run_id], outcome.value, outcome.error)
                            writer.write({**record, "rerun_of": old.run_id})
                            bar.advance(outcome.ok)
                            left.done()
                            clients.abandon_pauses()
        summary = {
            "output": str(output),
            "chosen": len(chosen),
            "started": bar.ok,
            "failed": bar.failed,
            "skipped": len(done),
            "found": len(found),
        }
        if output_format == "json":
            emit_json(summary)
        else:
            make_console().print(
                f"Reran {bar.ok} run(s), {bar.failed} failed, {len(done)} skipped "
                f"(already rerun); results in {output}."
            )
        return Exit.NOT_ALL_SUCCEEDED if bar.failed else Exit.OK

    run(
        main,
        interrupted=lambda: (
            f"Interrupted with {left.count} run(s) not rerun: every rerun "
            f"sent is recorded in {output}; run the same command again to rerun the rest (a "
            "rerun whose answer was lost is looked up by its request tag, never sent twice)."
        ),
    )


def _report_chosen(chosen: Sequence[Run], output_format: Format) -> None:
    if output_format == "json":
        emit_json(
            {
                "would_rerun": [
                    {"run_id": r.run_id, "label": r.label, "status": r.status} for r in chosen
                ]
            }
        )
        return
    console = make_console()
    for found in chosen:
        console.print(f"{found.run_id}  {found.status}  {found.label or ''}".rstrip())
    console.print(f"{len(chosen)} run(s) would be rerun.")


# -- runs summary ------------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _summary_text(summary: RunSummary) -> None:
    console = make_console()
    console.print(f"{summary.total} run(s); {summary.canceled} canceled.")
    table = Table(box=box.SIMPLE)
    table.add_column("status")
    table.add_column("runs", justify="right")
    for status, count in summary.by_status.items():
        table.add_row(status, str(count))
    console.print(table)
    days = Table(box=box.SIMPLE)
    days.add_column("day (UTC)")
    days.add_column("runs started", justify="right")
    for day, count in summary.by_day.items():
        days.add_row(day, str(count))
    console.print(days)
    console.print(
        f"Durations of {summary.ended} ended run(s): median "
        f"{_seconds(summary.median_duration)}, 95th percentile {_seconds(summary.p95_duration)}."
    )
    if summary.failure_codes:
        codes = ", ".join(f"{code} ({count})" for code, count in summary.failure_codes)
        console.print(f"Most frequent failure codes: {codes}.")


@click.command("summary")
@click.option("--flow-id", multiple=True, help="Only runs of this flow (repeatable).")
@datetime_option("--since", "Only runs started at or after this time.")
@click.option("--label", multiple=True, help="Only runs with this label (repeatable).")
@click.option(
    "--top", type=click.IntRange(0, 100), default=5, show_default=True, help="Failure codes shown."
)
@format_option
@click.pass_context
def summary(
    ctx: click.Context,
    flow_id: tuple[str, ...],
    since: datetime | None,
    label: tuple[str, ...],
    top: int,
    output_format: Format,
) -> None:
    """How a campaign is doing: runs by status and by day, durations, failure codes.

    One walk over the listing (GET /runs, 50 runs a page). Canceled runs are counted in
    their status (FAILED or ENDED) and separately; durations are those of ended runs.
    """
    settings = settings_of(ctx)

    async def main() -> int:
        builder = SummaryBuilder(top=top)
        async with open_clients(settings) as clients:
            async for found in clients.flows.iter_runs(
                filter_flow_id=list(flow_id) or None,
                filter_label=list(label) or None,
                filter_start_time=(since, None) if since is not None else None,
                per_page=50,
            ):
                builder.add(found)
        result = builder.result()
        if output_format == "json":
            emit_json(result.to_dict())
        else:
            _summary_text(result)
        return Exit.OK

    run(main)
