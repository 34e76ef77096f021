"""``summarize_runs`` on a known campaign, listed from the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from globus_runs import FlowsClient, InvalidRequestError, Run, SummaryBuilder, summarize_runs
from globus_runs.testing import FakeClock, FakeGlobus, serve_in_thread

from .conftest import QUICK_RETRIES, START

pytestmark = pytest.mark.anyio

DAY = timedelta(days=1)


@pytest.fixture(params=["in_process", "loopback"])
def campaign_client(request: pytest.FixtureRequest) -> Iterator[tuple[FakeGlobus, FlowsClient]]:
    """A fresh emulator and a client on it, in-process or over a loopback socket."""
    fake = FakeGlobus(clock=FakeClock(START))
    if request.param == "in_process":
        yield fake, fake.flows_client(retry=QUICK_RETRIES)
        return
    with serve_in_thread(fake) as info:
        yield fake, FlowsClient(authorizer=info["token"], base_url=info["flows_url"])


async def known_campaign(fake: FakeGlobus, flows: FlowsClient) -> list[str]:
    """18 runs over two days; returns the flow ids.

    Day 1: 10 runs succeed in 10, 20, ... 100 s. Day 2: 4 fail (ActionFailedException, 30 s),
    2 fail (ActionTimedOut, 50 s), 2 are still running, of which 1 is canceled 5400 s in.
    """
    ok = fake.add_flow(duration=10)
    bad = fake.add_flow(duration=30, outcome="FAILED")
    slow = fake.add_flow(duration=50, outcome="FAILED", failure_code="ActionTimedOut")
    fake.add_runs(ok, 10, start=START, interval=60, duration=[10.0 * (i + 1) for i in range(10)])
    fake.add_runs(bad, 4, start=START + DAY)
    fake.add_runs(slow, 2, start=START + DAY + timedelta(hours=1))
    running = fake.add_runs(ok, 2, start=START + DAY + timedelta(minutes=30), duration=1e6)
    fake.clock.advance((DAY + timedelta(hours=2)).total_seconds())
    await flows.cancel_run(running[0])
    return [ok, bad, slow]


async def test_summary_of_a_known_campaign(
    campaign_client: tuple[FakeGlobus, FlowsClient],
) -> None:
    fake, flows = campaign_client
    async with flows:
        flow_ids = await known_campaign(fake, flows)
        runs = await flows.list_all_runs(filter_flow_id=flow_ids)

    summary = summarize_runs(runs)

    assert summary.to_dict() == {
        "total": 18,
        "by_status": {"ACTIVE": 1, "FAILED": 7, "SUCCEEDED": 10},
        "canceled": 1,
        "by_day": {"2026-03-01": 10, "2026-03-02": 8},
        "ended": 17,
        "median_duration": 50.0,
        "p95_duration": 5400.0,
        "failure_codes": [
            {"code": "ActionFailedException", "count": 4},
            {"code": "ActionTimedOut", "count": 2},
        ],
    }


def test_summary_of_no_runs_has_no_durations() -> None:
    summary = summarize_runs([])

    assert (summary.total, summary.median_duration, summary.p95_duration) == (0, None, None)


def test_top_limits_the_failure_codes() -> None:
    runs = [
        Run(run_id=str(n), flow_id="f", status="FAILED", details={"code": code})
        for n, code in enumerate(["B", "A", "B", "C"])
    ]

    assert summarize_runs(runs, top=2).failure_codes == [("B", 2), ("A", 1)]


def test_a_non_run_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="expected a Run, got dict"):
        SummaryBuilder().add({"status": "FAILED"})  # type: ignore[arg-type]
