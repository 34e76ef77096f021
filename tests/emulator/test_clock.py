"""The emulator's clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from globus_runs.testing import FakeClock, FakeGlobus

START = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_manual_clock_stands_still_until_advanced() -> None:
    clock = FakeClock(START)
    assert clock.now() == START
    time.sleep(0.01)
    assert clock.now() == START
    clock.advance(1.5)
    assert clock.now() == START + timedelta(seconds=1.5)
    assert not clock.realtime


def test_now_is_utc_even_when_started_in_another_zone() -> None:
    clock = FakeClock(datetime(2026, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))))
    assert clock.now() == START
    assert clock.now().utcoffset() == timedelta(0)


def test_the_default_start_is_the_current_time() -> None:
    before = datetime.now(UTC)
    assert before <= FakeClock().now() <= datetime.now(UTC)


def test_a_realtime_clock_follows_real_time_sped_up() -> None:
    before = time.monotonic()
    clock = FakeClock(START, realtime=True, speed=100.0)
    time.sleep(0.05)
    elapsed = (clock.now() - START).total_seconds()
    # 100 emulated seconds per real second, however long the sleep really took.
    assert 5 <= elapsed <= (time.monotonic() - before) * 100
    clock.advance(3600)
    assert clock.now() - START >= timedelta(hours=1, seconds=5)
    assert (clock.realtime, clock.speed) == (True, 100.0)


def test_the_clock_cannot_go_backwards() -> None:
    with pytest.raises(ValueError, match="backwards"):
        FakeClock(START).advance(-1)


def test_a_naive_start_or_a_bad_speed_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        FakeClock(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="speed"):
        FakeClock(START, speed=0)


@pytest.mark.anyio
async def test_a_clock_moving_per_request_moves_once_for_each_request() -> None:
    fake = FakeGlobus(clock=FakeClock(START, per_request=10.0))
    flow_id = fake.add_flow(duration=25.0)
    [run_id] = fake.add_runs(flow_id, 1)
    async with fake.flows_client() as flows:
        statuses = [(await flows.get_run(run_id)).status for _ in range(3)]
    # 10, 20, then 30 emulated seconds into a 25-second run: the third look sees it ended.
    assert statuses == ["ACTIVE", "ACTIVE", "SUCCEEDED"]
    assert fake.clock.now() == START + timedelta(seconds=30)


def test_a_clock_cannot_move_backwards_per_request() -> None:
    with pytest.raises(ValueError, match="per_request"):
        FakeClock(START, per_request=-1.0)
