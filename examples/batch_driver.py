"""A batch driver: start a run per input, record each outcome, wait for all, report.

It starts runs as a stream (memory bounded by the concurrency, however long the input),
keeps one result-or-error per input, then waits for every started run with list queries
rather than one request per run per poll::

    python -m globus_runs.testing serve --port 8000 > emulator.json &
    python -m examples.batch_driver --emulator emulator.json --count 200 --concurrency 16
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from globus_runs import FlowsClient, RetryPolicy, Run, RunRequest

from ._connect import Connection, add_connection_arguments

__all__ = ["Report", "drive", "main"]


@dataclass
class Report:
    """What became of each input: the run it started and how that ended, or why it failed."""

    runs: dict[int, Run] = field(default_factory=dict)
    failures: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        """One paragraph for a log."""
        statuses = Counter(run.status for run in self.runs.values())
        ended = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
        return (
            f"{len(self.runs)} run(s) started, {len(self.failures)} input(s) failed to start; "
            f"final statuses: {ended or 'none'}; {self.seconds:.1f} s in all"
        )


def requests(flow_id: str, inputs: Iterable[Mapping[str, Any]]) -> Iterator[RunRequest]:
    """One start request per input, labelled with its position."""
    for index, body in enumerate(inputs):
        yield RunRequest(flow_id, body, label=f"item {index}")


async def drive(
    flows: FlowsClient,
    flow_id: str,
    inputs: Iterable[Mapping[str, Any]],
    *,
    concurrency: int = 16,
    poll_interval: float = 5.0,
    timeout: float | None = None,
) -> Report:
    """Start a run of ``flow_id`` per input, then wait for them all; never raises per item."""
    report = Report()
    began = time.monotonic()
    started: dict[int, Run] = {}
    async with flows.stream_run_flows(requests(flow_id, inputs), concurrency=concurrency) as out:
        async for result in out:
            if result.value is not None:
                started[result.index] = result.value
            else:
                report.failures[result.index] = f"{type(result.error).__name__}: {result.error}"
    order = sorted(started)
    finished = await flows.wait_for_runs(
        [started[i] for i in order], poll_interval=poll_interval, timeout=timeout
    )
    report.runs = dict(zip(order, finished, strict=True))
    report.seconds = time.monotonic() - began
    return report


async def main(argv: Sequence[str] | None = None) -> Report:
    """Parse the command line, drive the batch, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_connection_arguments(parser)
    parser.add_argument("--count", type=int, default=50, help="how many runs to start")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    connection = Connection.from_args(args)
    inputs = ({"item": n} for n in range(args.count))
    # Exactly-once starts: a start whose answer was lost is looked up, not blindly sent again.
    retry = RetryPolicy(exactly_once_starts=True)
    async with connection.flows(concurrency=args.concurrency, retry=retry) as flows:
        report = await drive(
            flows,
            connection.flow_id(args.flow_id),
            inputs,
            concurrency=args.concurrency,
            poll_interval=args.poll_interval,
        )
    print(report.summary())
    for index, why in sorted(report.failures.items()):
        print(f"  input {index}: {why}")
    return report


if __name__ == "__main__":
    anyio.run(main)
