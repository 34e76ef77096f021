"""Starting each line of a batch once, whatever stops the command line.

Before a start is sent, its intent (the input line and a fresh request tag, which goes on
the run) is on disk; its outcome is appended when it ends. A line with an intent but no run
recorded may have started a run whose answer was lost (Ctrl-C, a kill, a crash): before
starting it again, the runs of the flow are looked up by those tags, with the same look-up
exactly-once starts use, and a run found is recorded instead of started twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from .._models import Run
from ..flows import FlowsClient
from ..flows._starts import LOOKBACK, find_tagged, request_tag
from ._results import BatchLog, ResultsWriter, intent_record, run_record

__all__ = ["Remaining", "resolve_unfinished", "start_recorded"]

# Runs are kept 90 days: a tag recorded at an unknown time is looked for that far back.
_KEPT = timedelta(days=90)


async def resolve_unfinished(
    flows: FlowsClient, flow_id: str, log: BatchLog, writer: ResultsWriter | None
) -> dict[int, Run]:
    """Look up the unfinished lines of ``log`` by their tags; record (unless ``writer`` is
    ``None``) and return the runs found.

    One walk over the flow's runs started since the oldest unfinished intent (less the
    look-up's allowance for clock skew) finds every tag at once. A line whose tags no run
    carries started nothing: it is left to be started again.
    """
    unfinished = log.unfinished()
    if not unfinished:
        return {}
    times = [at for state in unfinished.values() for _, at in state.tags if at is not None]
    since = min(times) - LOOKBACK if times else datetime.now(UTC) - _KEPT
    tags = {tag for state in unfinished.values() for tag, _ in state.tags}
    click.echo(
        f"Looking up {len(unfinished)} line(s) whose start was sent but not recorded, by "
        f"their request tags, among the runs of {flow_id} started since "
        f"{since.isoformat(timespec='seconds')}.",
        err=True,
    )
    found = await find_tagged(flows, flow_id, tags, since)
    runs: dict[int, Run] = {}
    for line, state in sorted(unfinished.items()):
        for tag, _ in state.tags:
            run = found.get(tag)
            if run is not None:
                if writer is not None:
                    writer.write({**run_record(line, run, None, tag=tag), **state.extra})
                runs[line] = run
                break
    return runs


async def start_recorded(
    writer: ResultsWriter,
    line: int,
    flow_id: str,
    start: Callable[[str], Awaitable[Run]],
    **fields: Any,
) -> Run:
    """Record the intent to start ``line`` under a fresh tag, then ``start(tag)``: the
    caller records the outcome.

    ``fields`` go into the intent record (``digest``, ``rerun_of``).
    """
    tag = request_tag()
    await writer.intent(intent_record(line, tag, flow_id, **fields))
    return await start(tag)


class Remaining:
    """How many items of a batch are still to be recorded, for the message on Ctrl-C."""

    def __init__(self, count: int = 0) -> None:
        self.count = count

    def done(self) -> None:
        self.count -= 1
