"""Marker paging: one place decides when a listing has ended."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

from ._errors import InvalidRequestError

__all__ = ["MarkerPager", "next_marker"]

P = TypeVar("P")
T = TypeVar("T")


def next_marker(has_next_page: bool, marker: str | None, seen: set[str]) -> str | None:
    """The marker to fetch the next page with, or ``None`` when the listing has ended.

    It ends when the service says so, when it gives no marker, or when it repeats a
    marker already followed (a misbehaving server must not make us loop forever).
    """
    if not has_next_page or not marker or marker in seen:
        return None
    seen.add(marker)
    return marker


class MarkerPager(Generic[P, T]):
    """Async iterator over the items of a marker-paged listing, fetching pages on demand.

    ``fetch(marker)`` gets a page (``None`` for the first); ``split(page)`` returns the page's
    items, whether it has a next page, and its marker. With ``max_items`` it stops as soon as
    that many items were yielded, without fetching further pages.
    """

    def __init__(
        self,
        fetch: Callable[[str | None], Awaitable[P]],
        split: Callable[[P], tuple[Iterable[T], bool, str | None]],
        *,
        max_items: int | None = None,
    ) -> None:
        if max_items is not None and max_items < 0:
            raise InvalidRequestError("max_items must be >= 0")
        self._fetch = fetch
        self._split = split
        self._remaining = max_items
        self._buffer: deque[T] = deque()
        self._marker: str | None = None
        self._seen: set[str] = set()
        self._done = False
        self.pages_fetched = 0

    def __aiter__(self) -> MarkerPager[P, T]:
        return self

    async def __anext__(self) -> T:
        while True:
            if self._remaining == 0:
                raise StopAsyncIteration
            if self._buffer:
                if self._remaining is not None:
                    self._remaining -= 1
                return self._buffer.popleft()
            if self._done:
                raise StopAsyncIteration
            page = await self._fetch(self._marker)
            self.pages_fetched += 1
            items, has_next, marker = self._split(page)
            self._buffer.extend(items)
            self._marker = next_marker(has_next, marker, self._seen)
            self._done = self._marker is None

    async def collect(self) -> list[T]:
        """Every remaining item, as a list."""
        return [item async for item in self]
