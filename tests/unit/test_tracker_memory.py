"""What the tracker keeps per run: its id (shared with the caller's), flow, start, status and
last sighting; a couple of hundred bytes, not a Run."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime

import pytest

from globus_runs import FlowsClient, Run
from globus_runs.flows._tracker import Waiter, tracker_of
from globus_runs.flows._waiting import _run_id_of, poll_delays

pytestmark = pytest.mark.anyio

N = 20_000


@pytest.mark.parametrize("given", ["ids", "runs"])
async def test_a_tracked_run_costs_about_two_hundred_bytes(given: str) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    flow_id = "00000000-0000-4000-9000-000000000001"
    runs = [
        Run(
            run_id=f"00000000-0000-4000-8000-{i:012d}",
            flow_id=flow_id,
            status="ACTIVE",
            start_time=start,
        )
        for i in range(N)
    ]
    items: list[str] | list[Run] = [run.run_id for run in runs] if given == "ids" else runs
    async with FlowsClient(authorizer="t") as flows:
        tracker = tracker_of(flows)
        waiter = Waiter(tracker, flows, delays=poll_delays(1.0), on_inactive="wait")
        tracemalloc.start()
        try:
            waiter.add(items, _run_id_of)
            used, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert len(tracker) == N
        assert used / N < 256
        waiter.close()
        assert len(tracker) == 0
