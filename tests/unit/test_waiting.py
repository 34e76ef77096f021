"""Poll scheduling for waits."""

from __future__ import annotations

import itertools

import pytest

from globus_runs import ConfigurationError
from globus_runs.flows._waiting import poll_delays


def test_poll_delays_grow_to_sixty_seconds_without_jitter_at_the_midpoint() -> None:
    delays = list(itertools.islice(poll_delays(5.0, rng=lambda: 0.5), 9))
    assert delays == pytest.approx([5.0, 7.5, 11.25, 16.875, 25.3125, 37.96875, 56.953125, 60, 60])


def test_poll_delays_are_jittered_by_at_most_ten_percent() -> None:
    assert next(poll_delays(10.0, rng=lambda: 0.0)) == pytest.approx(9.0)
    assert next(poll_delays(10.0, rng=lambda: 1.0)) == pytest.approx(11.0)


def test_a_poll_interval_above_a_minute_is_kept() -> None:
    delays = list(itertools.islice(poll_delays(120.0, rng=lambda: 0.5), 3))
    assert delays == [120.0, 120.0, 120.0]


def test_poll_interval_must_be_positive() -> None:
    with pytest.raises(ConfigurationError):
        next(poll_delays(0))
