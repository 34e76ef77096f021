"""The emulator's clock: manual by default, optionally following real time."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

__all__ = ["FakeClock"]


class FakeClock:
    """A clock the emulator reads instead of the wall clock.

    In manual mode (the default) time stands still until `advance` moves it, so
    tests decide exactly when a run finishes. With ``per_request=S`` the emulator
    also moves it ``S`` seconds before answering each request: runs progress as a
    client polls them, at the same pace however fast or busy the machine is. With
    ``realtime=True`` it also follows the monotonic clock, ``speed`` times faster
    than real time: ``now() == start + elapsed * speed + advanced``.

    `now` always returns an aware UTC datetime and never goes backwards.

    >>> clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    >>> clock.advance(90)
    >>> clock.now().isoformat()
    '2026-01-01T00:01:30+00:00'
    """

    def __init__(
        self,
        start: datetime | None = None,
        *,
        realtime: bool = False,
        speed: float = 1.0,
        per_request: float = 0.0,
    ) -> None:
        if start is None:
            start = datetime.now(UTC)
        elif start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime (give it a tzinfo)")
        if speed <= 0:
            raise ValueError("speed must be positive")
        if per_request < 0:
            raise ValueError("per_request cannot be negative: the clock never goes backwards")
        self._start = start.astimezone(UTC)
        self._realtime = realtime
        self._speed = speed
        self._advanced = 0.0
        self._per_request = per_request
        self._started_at = time.monotonic()

    @property
    def realtime(self) -> bool:
        """Whether the clock follows real time (besides explicit advances)."""
        return self._realtime

    @property
    def speed(self) -> float:
        """How many emulated seconds pass per real second in realtime mode."""
        return self._speed

    @property
    def per_request(self) -> float:
        """Emulated seconds the emulator moves the clock before answering each request."""
        return self._per_request

    def now(self) -> datetime:
        """The current emulated time, an aware UTC datetime.

        Example::

            started = fake.clock.now()
        """
        elapsed = self._advanced
        if self._realtime:
            elapsed += (time.monotonic() - self._started_at) * self._speed
        return self._start + timedelta(seconds=elapsed)

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (which must not be negative).

        Example::

            fake.clock.advance(60)  # a minute passes: runs progress, timers fire
        """
        if seconds < 0:
            raise ValueError("the clock cannot go backwards")
        self._advanced += seconds
