"""A tour of the library against the in-process emulator: ``python -m globus_runs.demo``.

It needs no Globus account and no network: the emulator (``globus_runs.testing``) plays
Flows on a manual clock, which the demo moves itself, so what it shows never depends on how
fast the machine is.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

import anyio

from . import RunLogEvent, RunRequest, RunStatusEvent
from .testing import FakeClock, FakeGlobus

__all__ = ["main", "run_demo"]

STEP = 2.0  # emulated seconds per tick while the demo lets time pass
TICK = 0.02  # real seconds between ticks: only the pace of the show


async def _pass_time(clock: FakeClock) -> None:
    """Move a manual ``clock`` forward, `STEP` seconds a tick, until cancelled.

    Runs end when the clock says so, never because the machine was slow: what the demo
    shows depends only on when it starts and stops this.
    """
    while True:
        await anyio.sleep(TICK)
        clock.advance(STEP)


def _printer(out: TextIO) -> Callable[[str], None]:
    def say(text: str = "") -> None:
        out.write(text + "\n")
        out.flush()

    return say


async def run_demo(out: TextIO = sys.stdout) -> None:
    """Start a batch of runs, list them, cancel one, wait for the rest, read logs."""
    say = _printer(out)
    fake = FakeGlobus(clock=FakeClock())
    transfer = fake.add_flow(title="Move scan data", duration=30.0, steps=3)
    flaky = fake.add_flow(title="Reduce scan", duration=20.0, outcome="FAILED")

    async with fake.flows_client() as flows:
        say("Two runs end badly on purpose: one is canceled, one runs a flow that fails.\n")
        say("Starting 6 runs in one batch...")
        requests = [RunRequest(transfer, {"scan": n}, label=f"scan {n}") for n in range(5)]
        requests.append(RunRequest(flaky, {"scan": 5}, label="scan 5 (reduce)"))
        started = [result.unwrap() for result in await flows.batch_run_flows(requests)]
        for run in started:
            say(f"  started {run.run_id}  {run.label!r:20} {run.status}")

        # The clock stands still until the watch below: every run is still ACTIVE.
        page = await flows.list_runs(filter_status="ACTIVE", per_page=50)
        say(
            f"\nListed {len(page.runs)} ACTIVE runs (one page, has_next_page={page.has_next_page})."
        )

        victim = started[0]
        canceled = await flows.cancel_run(victim.run_id)
        say(
            f"\nCanceled {victim.label!r}: status {canceled.status}, "
            f"was_canceled={canceled.was_canceled}"
        )

        say("\nWatching 'scan 1' until it ends:")
        async with anyio.create_task_group() as time_passing:
            moving = False
            async for event in flows.watch_run(started[1].run_id, poll_interval=0.1):
                if isinstance(event, RunLogEvent):
                    say(f"  log    {event.entry.code:16} {event.entry.description}")
                elif isinstance(event, RunStatusEvent):
                    say(f"  status {event.previous or '-'} -> {event.status}")
                if not moving:  # the watch has seen the run ACTIVE: now let it progress
                    time_passing.start_soon(_pass_time, fake.clock)
                    moving = True

            say("\nWaiting for every run with list queries (wait_for_runs)...")
            fake.clear_requests()
            finished = await flows.wait_for_runs(started, poll_interval=0.2)
            time_passing.cancel_scope.cancel()
        for run in finished:
            outcome = run.error.code if run.error else ""
            say(f"  {run.label!r:20} {run.status:10} {outcome}".rstrip())
        say(f"  ({len(fake.requests)} request(s) while waiting for {len(finished)} runs)")

        entries = await flows.list_all_run_logs(started[-1].run_id)
        say(f"\nLog of {started[-1].label!r}: " + ", ".join(entry.code for entry in entries))
    say("\nDemo complete.")


def main() -> None:
    """Run the demo and exit; without the ``testing`` extra, say so in one line."""
    try:
        anyio.run(run_demo)
    except ImportError as error:  # the emulator's app needs the testing extra
        sys.exit(f'Error: {error}: from a checkout, pip install ".[testing]"')


if __name__ == "__main__":
    main()
