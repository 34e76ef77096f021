"""Whether an idle connection's socket has something to read (a close, stray bytes) right
now: checked before the connection is reused."""

from __future__ import annotations

import select
from typing import Any

__all__ = ["_Readiness", "_socket_readable"]


class _Readiness:
    """A poller on one socket, made once: the check before a reuse is one system call."""

    __slots__ = ("_fileno", "_poller")

    def __init__(self, fileno: int) -> None:
        self._fileno = fileno
        self._poller: Any = None
        if hasattr(select, "poll") and fileno >= 0:  # no limit on descriptor numbers
            self._poller = select.poll()
            self._poller.register(fileno, select.POLLIN | select.POLLPRI)

    def ready(self) -> bool:
        """Whether the socket has something to read, or an error or hang-up, right now."""
        poller = self._poller
        if poller is None:
            return _socket_readable(self._fileno)
        try:
            return bool(poller.poll(0))
        except (OSError, ValueError):
            return True


def _socket_readable(fileno: int) -> bool:
    """Whether socket ``fileno`` has something to read, or an error or hang-up, right now."""
    if fileno < 0:
        return True
    try:
        if hasattr(select, "poll"):  # no limit on descriptor numbers, unlike select()
            poller = select.poll()
            poller.register(fileno, select.POLLIN | select.POLLPRI)
            return bool(poller.poll(0))
        ready, _, _ = select.select([fileno], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(ready)
