"""A timer and its runs: create a recurring flow timer, wait for it to fire, list its runs.

    python -m globus_runs.testing serve --port 8000 --speed 60 > emulator.json &
    python -m examples.timer_runs --emulator emulator.json --runs 3

(``--speed 60`` makes the emulator's minute last a second.) With ``--timer-id`` it only
lists the runs of an existing timer.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import anyio

from globus_runs import TimerRun, TimersClient

from ._connect import Connection, add_connection_arguments

__all__ = ["main", "show_runs", "wait_for_firings"]


async def wait_for_firings(
    timers: TimersClient, timer_id: str, count: int, *, poll_interval: float = 1.0
) -> list[TimerRun]:
    """Poll the timer until it has started ``count`` runs; return them, newest first."""
    while True:
        runs = await timers.list_all_runs(timer_id)
        if len(runs) >= count:
            return runs
        await anyio.sleep(poll_interval)


def show_runs(runs: Sequence[TimerRun]) -> None:
    """One line per run: when it started, its status and the flow run it created."""
    for run in runs:
        started = f"{run.start_time:%Y-%m-%d %H:%M:%S}" if run.start_time else "-"
        outcome = run.result.error.message if run.result.error else run.result.status
        print(f"  {started}  {run.status:<11} {run.id}  {outcome}")


async def main(argv: Sequence[str] | None = None) -> list[TimerRun]:
    """Create a timer (or use ``--timer-id``), show its runs, run it once more now."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_connection_arguments(parser)
    parser.add_argument("--timer-id", help="an existing timer whose runs to list")
    parser.add_argument("--runs", type=int, default=3, help="wait for this many firings")
    parser.add_argument("--poll-interval", type=float, default=0.5)
    args = parser.parse_args(argv)
    connection = Connection.from_args(args)
    async with connection.timers() as timers:
        if args.timer_id:
            runs = await timers.list_all_runs(args.timer_id)
            show_runs(runs)
            return runs
        timer = await timers.create_flow_timer(
            connection.flow_id(args.flow_id),
            {"note": "from a timer"},
            name="every minute (example)",
            schedule={"type": "recurring", "interval_seconds": 60},
        )
        print(f"created timer {timer.timer_id}; waiting for {args.runs} firing(s)...")
        try:
            runs = await wait_for_firings(
                timers, timer.timer_id, args.runs, poll_interval=args.poll_interval
            )
            show_runs(runs)
            now = await timers.run_timer(timer.timer_id)
            print(f"run_timer started {now.id} now (it is not in the timer's history)")
        finally:
            await timers.delete_timer(timer.timer_id)
        return runs


if __name__ == "__main__":
    anyio.run(main)
