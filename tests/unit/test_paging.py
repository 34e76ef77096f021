"""When a marker-paged listing ends."""

from __future__ import annotations

import pytest

from globus_runs import InvalidRequestError
from globus_runs._paging import MarkerPager, next_marker

Page = tuple[list[int], bool, str | None]


def test_next_marker_rules() -> None:
    seen: set[str] = set()
    assert next_marker(True, "m1", seen) == "m1"
    assert next_marker(True, "m1", seen) is None  # repeated
    assert next_marker(False, "m2", seen) is None  # service says no more
    assert next_marker(True, None, seen) is None  # missing
    assert next_marker(True, "", seen) is None  # empty


class _Pages:
    def __init__(self, pages: dict[str | None, Page]) -> None:
        self.pages = pages
        self.asked: list[str | None] = []

    async def fetch(self, marker: str | None) -> Page:
        self.asked.append(marker)
        return self.pages[marker]


def _split(page: Page) -> Page:
    return page


@pytest.mark.anyio
async def test_pager_follows_markers_until_has_next_page_is_false() -> None:
    pages = _Pages({None: ([1, 2], True, "a"), "a": ([3], True, "b"), "b": ([4], False, "c")})
    assert await MarkerPager(pages.fetch, _split).collect() == [1, 2, 3, 4]
    assert pages.asked == [None, "a", "b"]


@pytest.mark.anyio
async def test_pager_stops_on_a_missing_marker() -> None:
    pages = _Pages({None: ([1], True, "a"), "a": ([2], True, None)})
    assert await MarkerPager(pages.fetch, _split).collect() == [1, 2]
    assert pages.asked == [None, "a"]


@pytest.mark.anyio
async def test_pager_stops_on_a_repeated_marker() -> None:
    pages = _Pages({None: ([1], True, "a"), "a": ([2], True, "b"), "b": ([3], True, "a")})
    assert await MarkerPager(pages.fetch, _split).collect() == [1, 2, 3]
    assert pages.asked == [None, "a", "b"]


@pytest.mark.anyio
async def test_max_items_stops_without_fetching_further_pages() -> None:
    pages = _Pages({None: ([1, 2, 3], True, "a"), "a": ([4, 5, 6], True, "b")})
    pager = MarkerPager(pages.fetch, _split, max_items=4)
    assert await pager.collect() == [1, 2, 3, 4]
    assert pages.asked == [None, "a"]
    pages.asked.clear()
    assert await MarkerPager(pages.fetch, _split, max_items=2).collect() == [1, 2]
    assert pages.asked == [None]
    assert await MarkerPager(pages.fetch, _split, max_items=0).collect() == []


def test_negative_max_items_is_refused() -> None:
    with pytest.raises(InvalidRequestError):
        MarkerPager(_Pages({}).fetch, _split, max_items=-1)
