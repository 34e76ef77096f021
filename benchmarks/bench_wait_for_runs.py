"""Requests per poll interval: ``wait_for_runs`` (list queries) against per-run polling.

Both wait for the same 1,000 runs of 4 flows (lasting 10 to 60 emulated minutes) on the
emulator, whose clock runs fast in real time, and both poll on the same backing-off schedule.
Both start from the ``Run`` objects a batch start returns, so neither needs a first look-up.
Run: ``python -m benchmarks.bench_wait_for_runs``.
"""

from __future__ import annotations

import argparse
import json
import random
from typing import Literal

import anyio

from globus_runs import FlowsClient, RetryPolicy, Run
from globus_runs._converter import structure
from globus_runs.flows._waiting import poll_delays
from globus_runs.testing import FakeClock, FakeGlobus

SPEED = 600.0  # emulated seconds per real second
POLL = 0.05  # real seconds between polls (30 emulated seconds)


def _setup(n: int, seed: int) -> tuple[FakeGlobus, list[Run]]:
    rng = random.Random(seed)
    fake = FakeGlobus(clock=FakeClock(realtime=True, speed=SPEED))
    flows = [fake.add_flow(title=f"flow {i}", duration=60.0) for i in range(4)]
    run_ids: list[str] = []
    for index in range(n):
        flow_id = flows[index % len(flows)]
        duration = rng.uniform(600.0, 3600.0)
        outcome: Literal["FAILED", "SUCCEEDED"] = "FAILED" if rng.random() < 0.1 else "SUCCEEDED"
        run_ids += fake.add_runs(flow_id, 1, duration=duration, outcome=outcome)
    return fake, [structure(fake.get_run_document(run_id), Run) for run_id in run_ids]


def _client(fake: FakeGlobus) -> FlowsClient:
    return fake.flows_client(retry=RetryPolicy(max_retries=0), concurrency=50)


async def _per_run_polling(fake: FakeGlobus, runs: list[Run]) -> tuple[int, int]:
    """The naive waiter: every poll, one GET /runs/{id} per run not yet terminal."""
    pending = [run.run_id for run in runs]
    delays = poll_delays(POLL)
    polls = 0
    async with _client(fake) as flows:
        while pending:
            await anyio.sleep(next(delays))
            polls += 1
            results = await flows.batch_get_runs(pending)
            pending = [r.input for r in results if not (r.ok and r.unwrap().is_terminal)]
    return len(fake.requests), polls


async def _wait_for_runs(fake: FakeGlobus, runs: list[Run]) -> tuple[int, int, int]:
    async with _client(fake) as flows:
        finished = await flows.wait_for_runs(runs, poll_interval=POLL)
    assert all(run.is_terminal for run in finished)
    lookups = sum(1 for r in fake.requests if r.path != "/runs")
    listings = [r for r in fake.requests if r.path == "/runs"]
    polls = sum(1 for r in listings if "marker" not in r.params)
    return lookups, len(listings), polls


async def main(n: int, seed: int) -> dict[str, float]:
    fake, runs = _setup(n, seed)
    naive_requests, naive_polls = await _per_run_polling(fake, runs)

    fake, runs = _setup(n, seed)
    lookups, listing_requests, polls = await _wait_for_runs(fake, runs)
    per_poll = listing_requests / max(polls, 1)
    naive_per_poll = naive_requests / max(naive_polls, 1)
    return {
        "runs": n,
        "per_run_polling_requests": naive_requests,
        "per_run_polling_polls": naive_polls,
        "per_run_polling_requests_per_poll": round(naive_per_poll, 1),
        "wait_for_runs_initial_lookups": lookups,
        "wait_for_runs_listing_requests": listing_requests,
        "wait_for_runs_polls": polls,
        "wait_for_runs_requests_per_poll": round(per_poll, 2),
        "ratio_requests_per_poll": round(naive_per_poll / per_poll, 1),
        "ratio_total_requests": round(naive_requests / (lookups + listing_requests), 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(anyio.run(main, args.runs, args.seed), indent=2))
