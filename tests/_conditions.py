"""Waiting on state, not on time: tests wait until a condition holds, with a bound generous
enough for a loaded machine, instead of sleeping for a guess."""

from __future__ import annotations

import threading
from collections.abc import Callable

import anyio

GENEROUS = 30.0  # seconds: only a hang, never a slow machine, reaches it


async def wait_until(condition: Callable[[], bool], *, within: float = GENEROUS) -> None:
    """Return once ``condition()`` is true; fail the test if it is still false ``within``
    seconds later."""
    with anyio.move_on_after(within):
        # Polled: the conditions are plain state of objects that have no event to wait on.
        while not condition():  # noqa: ASYNC110
            await anyio.sleep(0.002)
    assert condition(), f"still not true after {within} s: {condition}"


async def wait_for_thread_event(event: threading.Event, *, within: float = GENEROUS) -> None:
    """Wait, without blocking the event loop, for an event set by another thread."""
    assert await anyio.to_thread.run_sync(event.wait, within), "the other thread never said so"
