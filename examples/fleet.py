"""Operate on a campaign of runs: summarize it, rerun what failed, re-tag, cancel the rest.

Runs as it is, against an in-process emulator holding a 60-run campaign (a third of the runs
failed, a few still running)::

    python -m examples.fleet

The functions take any ``FlowsClient``: point one at Globus to do the same for real.
"""

from __future__ import annotations

from datetime import timedelta

import anyio

from globus_runs import FlowsClient, RetryPolicy, summarize_runs
from globus_runs.testing import FakeGlobus

__all__ = ["cancel_running", "emulated_campaign", "main", "rerun_failed", "retag", "summarize"]


async def summarize(flows: FlowsClient, flow_id: str) -> None:
    """Print the campaign's numbers (one walk over the listing)."""
    summary = summarize_runs(await flows.list_all_runs(filter_flow_id=flow_id))
    print(f"{summary.total} runs: {summary.by_status}, {summary.canceled} canceled")
    print(f"median {summary.median_duration} s, p95 {summary.p95_duration} s")
    print("failure codes:", summary.failure_codes)


async def rerun_failed(flows: FlowsClient, flow_id: str) -> list[str]:
    """Start every failed run again with its own input; return the new run ids."""
    failed = await flows.list_all_runs(filter_flow_id=flow_id, filter_status="FAILED")
    results = await flows.rerun_runs(failed, extra_tags=["retry-1"])
    for result in results:
        if not result.ok:
            print(f"{result.input.run_id} not rerun: {result.error}")
    new = [result.unwrap().run_id for result in results if result.ok]
    print(f"reran {len(new)} of {len(failed)} failed runs")
    return new


async def retag(flows: FlowsClient, run_ids: list[str]) -> None:
    """Tag runs in a few requests (500 ids each)."""
    results = await flows.update_runs(run_ids, add_tags=["reviewed"], remove_tags=["new"])
    print(f"tagged {len(run_ids)} runs in {len(results)} request(s)")


async def cancel_running(flows: FlowsClient, flow_id: str) -> None:
    """Cancel whatever is still running, and check how each run ended."""
    running = await flows.list_all_runs(filter_flow_id=flow_id, filter_status="ACTIVE")
    outcome = await flows.bulk_cancel_runs(running, confirm=True, poll_interval=0.1, timeout=60)
    print(f"{len(outcome.canceled)} canceled, {len(outcome.ended)} had already ended")


def emulated_campaign(fake: FakeGlobus) -> str:
    """A flow with 60 runs of distinct inputs: 42 succeeded, 13 failed, 5 still running."""
    flow_id = fake.add_flow(title="Beamline scan", duration=120)
    start = fake.clock.now()
    for n in range(60):
        fake.add_runs(
            flow_id,
            1,
            start=start + timedelta(minutes=n),
            body={"scan": n},
            label=f"scan {n}",
            tags=["new"],
            outcome="FAILED" if n % 4 == 3 else "SUCCEEDED",
            duration=1e6 if n >= 55 else 60.0 + n,
        )
    fake.clock.advance(timedelta(hours=2).total_seconds())
    return flow_id


async def main() -> None:
    fake = FakeGlobus()
    flow_id = emulated_campaign(fake)
    async with fake.flows_client(retry=RetryPolicy(exactly_once_starts=True)) as flows:
        await summarize(flows, flow_id)
        new = await rerun_failed(flows, flow_id)
        await retag(flows, new)
        await cancel_running(flows, flow_id)
        await summarize(flows, flow_id)


if __name__ == "__main__":
    anyio.run(main)
