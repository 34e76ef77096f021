"""Start a run (or pick one) and follow it live: each status change and each new log entry.

python -m globus_runs.testing serve --port 8000 > emulator.json &
python -m examples.watch_run --emulator emulator.json
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import anyio

from globus_runs import FlowsClient, RunLogEvent, RunStatusEvent

from ._connect import Connection, add_connection_arguments

__all__ = ["follow", "main"]


async def follow(flows: FlowsClient, run_id: str, *, poll_interval: float = 2.0) -> str:
    """Print the run's events until it ends; return its final status."""
    status = ""
    async for event in flows.watch_run(run_id, poll_interval=poll_interval):
        if isinstance(event, RunLogEvent):
            entry = event.entry
            print(f"  {entry.time:%H:%M:%S}  {entry.code:<16} {entry.description}")
        elif isinstance(event, RunStatusEvent):
            status = event.status
            print(f"status: {event.previous or '-'} -> {event.status}")
            if event.run.error is not None:
                print(f"  error {event.run.error.code}: {event.run.error.description}")
    return status


async def main(argv: Sequence[str] | None = None) -> str:
    """Start a run of the flow unless ``--run-id`` names one; follow it to its end."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_connection_arguments(parser)
    parser.add_argument("--run-id", help="a run to follow (default: start one)")
    parser.add_argument("--poll-interval", type=float, default=0.5)
    args = parser.parse_args(argv)
    connection = Connection.from_args(args)
    async with connection.flows() as flows:
        run_id = args.run_id
        if run_id is None:
            run = await flows.run_flow(
                connection.flow_id(args.flow_id), {"note": "watched"}, label="watched"
            )
            run_id = run.run_id
            print(f"started {run_id}")
        return await follow(flows, run_id, poll_interval=args.poll_interval)


if __name__ == "__main__":
    anyio.run(main)
