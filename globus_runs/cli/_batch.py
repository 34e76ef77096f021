"""``globus-runs batch ...``: start one run per line of a file, wait for them, cancel them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import click

from .._batch import stream_batch
from .._errors import ConflictError
from .._models import Run, RunRequest
from .._retry import RetryPolicy
from ..flows._fleet import DEFAULT_CHUNK_SIZE
from ._config import open_clients
from ._failures import FailureTally
from ._feedback import WaitDisplay
from ._fleet import bulk_cancel, report_torn
from ._intents import Remaining, resolve_unfinished, start_recorded
from ._missing import wait_reporting_missing
from ._options import (
    RESULTS_PATH,
    Exit,
    Failure,
    Format,
    format_option,
    progress_option,
    run,
    settings_of,
    wait_options,
)
from ._output import emit_json, make_console, outcome_document
from ._progress import BatchProgress
from ._results import (
    BatchLog,
    ForeignResultsError,
    InputError,
    ResultsWriter,
    pending_requests,
    read_batch,
    recorded_runs,
    run_record,
    scan_inputs,
)

__all__ = ["batch"]


@click.group()
def batch() -> None:
    """Many runs at once: start them from a file, wait for them, cancel them."""


def _records(results: Path) -> dict[int, dict[str, Any]]:
    return _log(results).records


def _log(results: Path) -> BatchLog:
    try:
        return read_batch(results)
    except (InputError, OSError) as error:
        raise Failure(str(error)) from None


@batch.command("start")
@click.argument("flow_id")
@click.argument("inputs", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--output",
    "-o",
    type=RESULTS_PATH,
    required=True,
    help="Results file (JSON lines); rerun with the same file to start only what is left.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 100),
    default=10,
    show_default=True,
    help="Starts in flight at once.",
)
@progress_option
@format_option
@click.pass_context
def start(
    ctx: click.Context,
    flow_id: str,
    inputs: Path,
    output: Path,
    concurrency: int,
    progress: bool,
    output_format: Format,
) -> None:
    """Start one run of FLOW_ID per line of INPUTS, recording each in --output.

    Each non-blank line of INPUTS is a JSON object: {"body": {...flow input...},
    "label": "...", "tags": [...], "run_managers": [...], "run_monitors": [...]}; only
    "body" is required. Before each start is sent, its intent (the line and a request tag
    that goes on the run) is synced to --output; its outcome follows. Running the same
    command again resumes the batch: lines recorded as started are skipped, and a line
    whose start was sent but not answered (Ctrl-C, a kill, a crash) is looked up by its tag
    and started only if no run carries it. At the end, the failures are counted by kind,
    with the first message (and input line) of each. Exit status 3 when a line could not
    be started, 130 when interrupted.
    """
    settings = settings_of(ctx)
    log = _log(output)
    records = log.records
    others = {r["flow_id"] for r in records.values() if r.get("flow_id", flow_id) != flow_id}
    if others:
        raise click.UsageError(
            f"{output} records runs of another flow ({', '.join(sorted(others))}): "
            "use another --output file"
        )
    done = log.started()
    digests = {line: state.digest for line, state in log.lines.items() if state.digest}
    try:
        total, pending, invalid = scan_inputs(inputs, flow_id, done, digests)
    except ForeignResultsError as error:
        raise click.UsageError(
            f"{output} was written for another input file ({error}): use another --output file"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise Failure(f"cannot read {inputs}: {error}") from None
    report_torn(log, output)

    tally = FailureTally()
    left = Remaining(pending)

    async def main() -> int:
        progress_console = make_console(stderr=True)
        # Each start is tagged and, after an ambiguous failure, looked up before being
        # sent again: a run is started once even when the network fails mid-request.
        retry = RetryPolicy(exactly_once_starts=True)
        with (
            ResultsWriter(output) as writer,
            BatchProgress(progress_console, pending, enabled=progress) as bar,
        ):
            for line, message in sorted(invalid.items()):
                writer.write(run_record(line, None, message))
                tally.add(message, line)
                bar.advance(False)
                left.done()
            if pending <= len(invalid):
                return _report_start(bar, tally, output, total, len(done), output_format)
            async with open_clients(settings, concurrency=concurrency, retry=retry) as clients:
                flows = clients.flows
                found = await resolve_unfinished(flows, flow_id, log, writer)
                for _ in found:
                    bar.advance(True)
                    left.done()
                meta: dict[int, tuple[int, str]] = {}

                def requests() -> Iterator[RunRequest]:
                    skip = done | set(invalid) | set(found)
                    for line, digest, request in pending_requests(inputs, flow_id, skip):
                        meta[id(request)] = (line, digest)
                        yield request

                async def start_one(request: RunRequest) -> Run:
                    line, digest = meta[id(request)]

                    async def send(tag: str) -> Run:
                        tags = [*(request.tags or ()), tag]
                        return await flows._start(attrs.evolve(request, tags=tags))

                    return await clients.abandonable(
                        lambda: start_recorded(writer, line, flow_id, send, digest=digest)
                    )

                stops = flows._stops()
                clients.stop_retrying_once_unreachable(stops)
                async with stream_batch(
                    requests(),
                    start_one,
                    concurrency=flows._concurrency(concurrency),
                    stops=stops,
                ) as results:
                    async for result in results:
                        line, _ = meta.pop(id(result.input))
                        writer.write(run_record(line, result.value, result.error))
                        if result.error is not None:
                            tally.add(result.error, line)
                        bar.advance(result.ok)
                        left.done()
                        clients.abandon_pauses()
        return _report_start(bar, tally, output, total, len(done), output_format, found=len(found))

    run(
        main,
        interrupted=lambda: (
            f"Interrupted with {left.count} line(s) not started: every start "
            f"sent is recorded in {output}; run the same command again to start the rest (a "
            "start whose answer was lost is looked up by its request tag, never sent twice)."
        ),
    )


def _report_start(
    bar: BatchProgress,
    tally: FailureTally,
    output: Path,
    total: int,
    skipped: int,
    output_format: Format,
    *,
    found: int = 0,
) -> int:
    """The summary of a batch start; its exit status."""
    kinds = tally.kinds()
    if output_format == "json":
        emit_json(
            {
                "output": str(output),
                "lines": total,
                "started": bar.ok,
                "failed": bar.failed,
                "skipped": skipped,
                "found": found,
                "failures": [kind.document() for kind in kinds],
            }
        )
    else:
        console = make_console()
        if skipped and skipped == total:
            console.print(
                f"Nothing to start: all {total} line(s) are recorded as started in {output}.",
                soft_wrap=True,
            )
        else:
            console.print(
                f"Started {bar.ok} run(s), {bar.failed} failed, {skipped} skipped "
                f"(already started); results in {output}.",
                soft_wrap=True,
            )
            if found:
                console.print(
                    f"{found} of them had been started before the batch was interrupted: "
                    "found by their request tag, not started again.",
                    soft_wrap=True,
                )
        for kind in kinds:
            console.print(kind.text(), style="red", soft_wrap=True)
    return Exit.NOT_ALL_SUCCEEDED if bar.failed else Exit.OK


@batch.command("wait")
@click.argument("results", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@wait_options
@format_option
@click.pass_context
def wait(
    ctx: click.Context,
    results: Path,
    timeout: float | None,
    poll_interval: float,
    output_format: Format,
) -> None:
    """Wait for every run recorded in RESULTS (a file written by batch start).

    Uses list queries, so thousands of runs cost a few requests per poll. Shows on stderr
    how many runs have ended and how many are in each status. Output as for runs wait, in
    input line order; exit status 0 only if every run SUCCEEDED, 3 if one did not (a run
    deleted meanwhile is reported by line and run id), 4 on --timeout, 1 when the service
    cannot be reached.
    """
    settings = settings_of(ctx)
    recorded = recorded_runs(_records(results))
    lines, started = [line for line, _ in recorded], [found for _, found in recorded]

    async def main() -> int:
        async with open_clients(settings) as clients:
            display = WaitDisplay(make_console(stderr=True))
            waiting = clients.flows.wait_for_runs(
                started, poll_interval=poll_interval, timeout=timeout, on_progress=display
            )
            return await wait_reporting_missing(
                waiting, lines, output_format, timeout=timeout, display=display
            )

    run(main)


@batch.command("cancel")
@click.argument("results", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--concurrency",
    type=click.IntRange(1, 100),
    default=10,
    show_default=True,
    help="Cancels in flight at once.",
)
@progress_option
@click.option(
    "--bulk", is_flag=True, help="Cancel in a few POST /batch/runs requests, not one per run."
)
@click.option(
    "--chunk-size",
    type=click.IntRange(1, 1000),
    default=DEFAULT_CHUNK_SIZE,
    show_default=True,
    help="With --bulk: run ids per request.",
)
@click.option("--confirm", is_flag=True, help="With --bulk: wait, and report how each run ended.")
@wait_options
@format_option
@click.pass_context
def cancel(
    ctx: click.Context,
    results: Path,
    concurrency: int,
    progress: bool,
    bulk: bool,
    chunk_size: int,
    confirm: bool,
    timeout: float | None,
    poll_interval: float,
    output_format: Format,
) -> None:
    """Cancel every run recorded in RESULTS (a file written by batch start).

    Each run is canceled, already ended, or failed. A run that had already ended (Flows
    answers 409 STATE_CONFLICT) is not a failure: it counts as "already ended" in the
    progress bar, the summary and the JSON records ("outcome": "already_ended", "ok":
    true), and leaves the exit status 0. Exit status 3 when another cancel failed (the
    failures are counted by kind at the end), 130 when interrupted. With --bulk the runs
    are canceled in requests of --chunk-size runs; --confirm then waits (list queries, up
    to --timeout) and reports which runs ended canceled and which had already ended.
    """
    settings = settings_of(ctx)
    if bulk:
        bulk_cancel(
            settings,
            results,
            chunk_size=chunk_size,
            confirm=confirm,
            timeout=timeout,
            poll_interval=poll_interval,
            output_format=output_format,
        )
        return
    started = recorded_runs(_records(results))
    line_of = {found.run_id: line for line, found in started}
    tally = FailureTally()

    async def main() -> int:
        documents: list[dict[str, Any]] = []
        with BatchProgress(
            make_console(stderr=True),
            len(started),
            description="Canceling runs",
            ok_label="canceled",
            other_label="already ended",
            enabled=progress,
        ) as bar:
            async with (
                open_clients(settings, concurrency=concurrency) as clients,
                clients.flows.stream_cancel_runs(
                    list(line_of), concurrency=concurrency
                ) as outcomes,
            ):
                async for outcome in outcomes:
                    line = line_of[outcome.input]
                    document = {"line": line, **outcome_document(outcome)}
                    if isinstance(outcome.error, ConflictError):
                        document.update(outcome="already_ended", ok=True)
                        bar.advance_other()
                    elif outcome.error is not None:
                        document["outcome"] = "failed"
                        tally.add(outcome.error, line)
                        bar.advance(False)
                    else:
                        document["outcome"] = "canceled"
                        bar.advance(True)
                    documents.append(document)
        documents.sort(key=lambda document: int(document["line"]))
        kinds = tally.kinds()
        if output_format == "json":
            emit_json({"results": documents, "failures": [kind.document() for kind in kinds]})
        else:
            console = make_console()
            console.print(
                f"Canceled {bar.ok} run(s); {bar.other} had already ended; {bar.failed} failed."
            )
            for kind in kinds:
                console.print(kind.text(), style="red", soft_wrap=True)
        return Exit.NOT_ALL_SUCCEEDED if bar.failed else Exit.OK

    run(
        main,
        interrupted=f"Interrupted: run the same command again to cancel the rest (the runs "
        f"canceled so far then count as already ended): batch cancel {results}",
    )
