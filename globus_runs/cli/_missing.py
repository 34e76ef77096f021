"""``batch wait``: the runs of a results file that were not found (deleted) while waited for."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence

from .._errors import RunsNotFoundError
from .._models import Run
from ._feedback import WaitDisplay
from ._options import Exit, Format
from ._output import emit_json, make_console, run_document
from ._runs import report_wait, wait_and_report

__all__ = ["wait_reporting_missing"]


async def wait_reporting_missing(
    waiting: Awaitable[list[Run]],
    lines: Sequence[int],
    output_format: Format,
    *,
    timeout: float | None,
    display: WaitDisplay,
) -> int:
    """As ``wait_and_report``; a run not found is reported on stderr by its line (``lines``:
    the input line of each run waited for, in order) and run id, with exit status 3.

    JSON: ``{"runs": [...], "all_succeeded": false, "timed_out": false,
    "not_found": [{"line": N, "run_id": ID}, ...]}``, ``runs`` holding the runs found.
    """
    try:
        return await wait_and_report(
            waiting, output_format, count=len(lines), timeout=timeout, display=display
        )
    except RunsNotFoundError as error:
        found = [result.value for result in error.results if result.value is not None]
        missing = [
            {"line": lines[result.index], "run_id": result.input}
            for result in error.results
            if result.error is not None
        ]
        if output_format == "json":
            emit_json(
                {
                    "runs": [run_document(run) for run in found],
                    "all_succeeded": False,
                    "timed_out": False,
                    "not_found": missing,
                }
            )
        else:
            report_wait(found, output_format)
        console = make_console(stderr=True)
        for item in missing:
            console.print(
                f"line {item['line']}: run {item['run_id']} not found (deleted, or not "
                "visible to you)",
                style="red",
                soft_wrap=True,
            )
        return Exit.NOT_ALL_SUCCEEDED
