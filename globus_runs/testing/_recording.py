"""The emulator's record of the requests it received, bounded in count and bytes."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, overload

import attrs

#: How many requests `RequestLog` keeps by default (the oldest are dropped first).
DEFAULT_MAX_RECORDS = 10_000
#: How many body bytes `RequestLog` keeps by default, over all the records it holds.
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024


@attrs.define(kw_only=True)
class RecordedRequest:
    """One request as the emulator received it, failing ones included.

    ``path`` is relative to the service (``"/runs/abc"`` for
    ``/flows/runs/abc``); ``query`` keeps every pair in order, ``params`` the
    last value of each key; header names are lower-case; ``json`` is the
    decoded body, or ``None`` when there was none or it was not acceptable JSON;
    ``body`` is the raw body (empty for a body refused as too large);
    ``time`` is the emulator clock's time on arrival; ``status_code`` is the
    status answered (``None`` while the request is being handled, and when the
    connection was dropped); ``fault`` is the kind of fault injected into it
    (see ``FakeGlobus.faults``), if any.
    """

    service: str
    method: str
    path: str
    query: list[tuple[str, str]]
    params: dict[str, str]
    headers: dict[str, str]
    json: Any
    body: bytes
    time: datetime
    status_code: int | None = None
    fault: str | None = None


class RequestLog(Sequence[RecordedRequest]):
    """The most recent requests, oldest first: a ring buffer.

    It keeps at most ``max_records`` requests, and at most ``max_body_bytes``
    bytes of their bodies in all; the oldest records go first when either bound
    is passed (the newest is always kept). ``dropped`` counts the records let go.
    ``None`` for a bound means no bound. Reads like a list: ``log[-1]``,
    ``log[1:]``, ``len(log)``, iteration, ``log == []``.
    """

    def __init__(
        self,
        max_records: int | None = DEFAULT_MAX_RECORDS,
        max_body_bytes: int | None = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        if max_records is not None and max_records < 1:
            raise ValueError(f"max_records must be at least 1, not {max_records}")
        if max_body_bytes is not None and max_body_bytes < 0:
            raise ValueError(f"max_body_bytes must not be negative, not {max_body_bytes}")
        self.max_records = max_records
        self.max_body_bytes = max_body_bytes
        self.dropped = 0
        self._records: deque[RecordedRequest] = deque()
        self._body_bytes = 0

    def append(self, record: RecordedRequest) -> None:
        """Keep ``record``, letting the oldest records go to stay within the bounds.

        Example::

            records = list(fake.requests)[-3:]  # three requests an emulator recorded
            log = RequestLog(max_records=2)
            for record in records:
                log.append(record)
            assert list(log) == records[1:] and log.dropped == 1
        """
        self._records.append(record)
        self._body_bytes += len(record.body)
        while len(self._records) > 1 and self._over():
            self._body_bytes -= len(self._records.popleft().body)
            self.dropped += 1

    def _over(self) -> bool:
        return (self.max_records is not None and len(self._records) > self.max_records) or (
            self.max_body_bytes is not None and self._body_bytes > self.max_body_bytes
        )

    def clear(self) -> None:
        """Forget every record (they are not counted as ``dropped``).

        Example::

            fake.requests.clear()
            assert fake.requests == []
        """
        self._records.clear()
        self._body_bytes = 0

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self._records)

    @overload
    def __getitem__(self, index: int) -> RecordedRequest: ...

    @overload
    def __getitem__(self, index: slice) -> list[RecordedRequest]: ...

    def __getitem__(self, index: int | slice) -> RecordedRequest | list[RecordedRequest]:
        if isinstance(index, slice):
            return list(self._records)[index]
        return self._records[index]

    def __eq__(self, other: object) -> bool:
        """Equal to a list (or log) of the same records, in the same order."""
        if isinstance(other, RequestLog | list):
            return list(self._records) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<RequestLog of {len(self)} requests ({self.dropped} dropped)>"
