"""Filtering, ordering and paging of ``GET /runs``, as pure functions.

Pages are cut by key, not by offset: the marker remembers the sort key of the
last run returned, so runs started while a client pages through do not shift
later pages. The marker also carries every filter, the ordering and the page
size, so a request with a marker needs (and reads) nothing else.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from ._errors import bad_request, unprocessable
from ._markers import decode_marker, encode_marker
from ._params import QueryParams
from ._role_filters import RoleFilter
from ._wire import format_time, parse_time

RUN_STATUSES = ("ACTIVE", "INACTIVE", "SUCCEEDED", "FAILED", "ENDED")
RUN_ROLES = (
    "run_owner",
    "run_manager",
    "run_monitor",
    "flow_run_manager",
    "flow_run_monitor",
)
ORDER_FIELDS = ("id", "start_time", "completion_time", "status", "label")
PER_PAGE_DEFAULT = 20
# Flows documents no maximum page size; 50 is the largest known to work. Larger sizes get
# a 422, so a test cannot come to rely on pages production may not give.
PER_PAGE_MAX = 50

TimeRange = tuple[datetime | None, datetime | None]
SortValue = str | int | None

_MARKER_KIND = "runs"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@attrs.frozen
class RunView:
    """The facts about one run that listing filters and sorts on."""

    run_id: str
    seq: int
    flow_id: str
    flow_title: str
    label: str | None
    status: str
    start_time: datetime
    completion_time: datetime | None
    roles: tuple[str, ...]  # the caller's roles on the run


@attrs.frozen
class RunQuery:
    """Everything a ``GET /runs`` request asks for, but the position."""

    flow_ids: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    flow_titles: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    start_time: TimeRange | None = None
    completion_time: TimeRange | None = None
    orderby: tuple[tuple[str, bool], ...] = (("start_time", True),)  # (field, desc)
    per_page: int = PER_PAGE_DEFAULT

    def matches(self, run: RunView) -> bool:
        """Whether ``run`` passes every filter."""
        return (
            (not self.flow_ids or run.flow_id in self.flow_ids)
            and (not self.statuses or run.status in self.statuses)
            and (not self.roles or any(role in self.roles for role in run.roles))
            and contains_any(run.label, self.labels)
            and contains_any(run.flow_title, self.flow_titles)
            and _in_range(run.start_time, self.start_time)
            and _in_range(run.completion_time, self.completion_time)
        )

    def to_json(self) -> dict[str, Any]:
        """The query as JSON, for a marker."""
        return {
            "flow_ids": list(self.flow_ids),
            "statuses": list(self.statuses),
            "labels": list(self.labels),
            "flow_titles": list(self.flow_titles),
            "roles": list(self.roles),
            "start_time": _range_to_json(self.start_time),
            "completion_time": _range_to_json(self.completion_time),
            "orderby": [[field, desc] for field, desc in self.orderby],
            "per_page": self.per_page,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunQuery:
        """The inverse of `to_json`; raises on anything it did not make."""
        return cls(
            flow_ids=tuple(map(str, data["flow_ids"])),
            statuses=tuple(map(str, data["statuses"])),
            labels=tuple(map(str, data["labels"])),
            flow_titles=tuple(map(str, data["flow_titles"])),
            roles=tuple(map(str, data["roles"])),
            start_time=_range_from_json(data["start_time"]),
            completion_time=_range_from_json(data["completion_time"]),
            orderby=tuple((str(field), bool(desc)) for field, desc in data["orderby"]),
            per_page=int(data["per_page"]),
        )


def contains_any(text: str | None, needles: tuple[str, ...]) -> bool:
    """Whether ``text`` contains one of ``needles``, ignoring case (no needles: any text)."""
    if not needles:
        return True
    if text is None:
        return False
    folded = text.casefold()
    return any(needle.casefold() in folded for needle in needles)


def _in_range(moment: datetime | None, bounds: TimeRange | None) -> bool:
    if bounds is None:
        return True
    if moment is None:
        return False
    low, high = bounds
    return (low is None or low <= moment) and (high is None or moment < high)


def _range_to_json(bounds: TimeRange | None) -> list[str | None] | None:
    if bounds is None:
        return None
    return [None if b is None else format_time(b) for b in bounds]


def _range_from_json(data: Any) -> TimeRange | None:
    if data is None:
        return None
    low, high = data
    return (
        None if low is None else parse_time(low),
        None if high is None else parse_time(high),
    )


def _choices(params: QueryParams, name: str, allowed: Sequence[str]) -> tuple[str, ...]:
    values = params.words(name)
    for value in values:
        if value not in allowed:
            raise unprocessable(
                ["query", name],
                f"value is not a valid enumeration member; permitted: {', '.join(allowed)}",
                "type_error.enum",
            )
    return values


def _time_range(params: QueryParams, name: str) -> TimeRange | None:
    value = params.text(name)
    if value is None:
        return None
    # Without a comma, "DT" means "DT," (from DT on).
    parts = value.split(",") if "," in value else [value, ""]
    try:
        if len(parts) != 2:
            raise ValueError
        low, high = (parse_time(part.strip()) if part.strip() else None for part in parts)
    except ValueError:
        raise unprocessable(
            ["query", name],
            "expected 'START,END' (or 'START') with ISO 8601 datetimes, either side may be empty",
            "value_error.datetime_range",
        ) from None
    return (low, high)


def _orderby(params: QueryParams) -> tuple[tuple[str, bool], ...]:
    clauses = params.words("orderby")
    if not clauses:
        return RunQuery().orderby
    order: list[tuple[str, bool]] = []
    for clause in clauses:
        words = clause.split()
        if (
            len(words) != 2
            or words[0] not in ORDER_FIELDS
            or words[1].upper() not in ("ASC", "DESC")
        ):
            raise unprocessable(
                ["query", "orderby"],
                f"invalid ordering {clause!r}: expected 'FIELD ASC' or 'FIELD DESC' "
                f"with FIELD one of {', '.join(ORDER_FIELDS)}",
                "value_error.orderby",
            )
        order.append((words[0], words[1].upper() == "DESC"))
    return tuple(order)


# ``GET /runs`` reads its roles in the plural too; its deprecated ``filter_role`` takes
# only the run's own roles, which the older ``GET /flows/{flow_id}/runs`` extends with
# the flow's.
RUN_ROLE_FILTER = RoleFilter(
    RUN_ROLES,
    {
        "run_managers": "run_manager",
        "run_monitors": "run_monitor",
        "flow_run_managers": "flow_run_manager",
        "flow_run_monitors": "flow_run_monitor",
    },
    {
        "run_owner": ("run_owner",),
        "run_manager": ("run_manager", "run_monitor"),
        "run_monitor": ("run_monitor",),
    },
)
FLOW_RUNS_ROLE_FILTER = attrs.evolve(
    RUN_ROLE_FILTER,
    implied={
        **RUN_ROLE_FILTER.implied,
        "flow_run_manager": ("flow_run_manager", "flow_run_monitor"),
        "flow_run_monitor": ("flow_run_monitor",),
    },
)


def page_marker(params: QueryParams) -> str | None:
    """The page token of a listing: ``marker``, or its older name ``pagination_token``."""
    marker = params.text("marker")
    return marker if marker is not None else params.text("pagination_token")


def parse_run_query(params: QueryParams, *, under_flow: bool = False) -> RunQuery:
    """The query of a ``GET /runs`` request without a marker (``under_flow``: of the older
    ``GET /flows/{flow_id}/runs``); 422 when invalid."""
    roles = (FLOW_RUNS_ROLE_FILTER if under_flow else RUN_ROLE_FILTER).read(params)
    return RunQuery(
        flow_ids=params.words("filter_flow_id"),
        statuses=_choices(params, "filter_status", RUN_STATUSES),
        labels=params.words("filter_label"),
        flow_titles=params.words("filter_flow_title"),
        roles=roles,
        start_time=_time_range(params, "filter_start_time"),
        completion_time=_time_range(params, "filter_completion_time"),
        orderby=_orderby(params),
        per_page=params.integer("per_page", PER_PAGE_DEFAULT, 1, PER_PAGE_MAX),
    )


def micros(moment: datetime) -> int:
    """``moment`` in whole microseconds since the epoch (how sort keys hold times)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _micros(moment: datetime | None) -> int | None:
    return None if moment is None else micros(moment)


_SORT_VALUES: dict[str, Callable[[RunView], SortValue]] = {
    "id": lambda run: run.run_id,
    "start_time": lambda run: _micros(run.start_time),
    "completion_time": lambda run: _micros(run.completion_time),
    "status": lambda run: run.status,
    "label": lambda run: run.label,
}


def _sort_key(run: RunView, orderby: tuple[tuple[str, bool], ...]) -> list[SortValue]:
    return [_SORT_VALUES[field](run) for field, _ in orderby] + [run.seq]


def compare_sort_keys(a: Sequence[SortValue], b: Sequence[SortValue], desc: Sequence[bool]) -> int:
    """Order two sort keys; missing values sort last ascending, first descending."""
    for left, right, descending in zip(a, b, desc, strict=True):
        if left == right:
            continue
        if left is None:
            result = 1
        elif right is None:
            result = -1
        else:
            result = -1 if left < right else 1  # type: ignore[operator]
        return -result if descending else result
    return 0


@attrs.frozen
class RunPage:
    """One page of runs, and the marker of the next page if there is one."""

    runs: list[RunView]
    marker: str | None


def select_page(
    runs: Iterable[RunView], query: RunQuery, after: Sequence[SortValue] | None = None
) -> RunPage:
    """The runs matching ``query`` that sort after ``after``, one page of them.

    The reference: every run is checked and the matches sorted.
    """
    desc = [d for _, d in query.orderby] + [query.orderby[0][1]]
    keyed = [(_sort_key(run, query.orderby), run) for run in runs if query.matches(run)]
    if after is not None:
        keyed = [item for item in keyed if compare_sort_keys(item[0], after, desc) > 0]

    def order(x: tuple[list[SortValue], RunView], y: tuple[list[SortValue], RunView]) -> int:
        return compare_sort_keys(x[0], y[0], desc)

    keyed.sort(key=functools.cmp_to_key(order))
    return first_page(iter(run for _, run in keyed), query)


def first_page(ordered: Iterator[RunView], query: RunQuery) -> RunPage:
    """The page made of the first runs of ``ordered`` that match ``query`` (in its order)."""
    page: list[RunView] = []
    for run in ordered:
        if not query.matches(run):
            continue
        if len(page) == query.per_page:
            last = _sort_key(page[-1], query.orderby)
            return RunPage(
                page, encode_marker(_MARKER_KIND, {"query": query.to_json(), "after": last})
            )
        page.append(run)
    return RunPage(page, None)


def _fits(field: str, value: object) -> bool:
    if field not in _SORT_VALUES:
        return False
    if field in ("start_time", "completion_time"):
        return value is None or (isinstance(value, int) and not isinstance(value, bool))
    return value is None or isinstance(value, str)


def read_marker(marker: str) -> tuple[RunQuery, list[SortValue]]:
    """The query and position a ``GET /runs`` marker carries; 400 when invalid."""
    state = decode_marker(_MARKER_KIND, marker)
    try:
        query = RunQuery.from_json(state["query"])
        after = list(state["after"])
        fields = [field for field, _ in query.orderby]
        if not (
            1 <= query.per_page <= PER_PAGE_MAX
            and len(after) == len(fields) + 1
            and all(_fits(field, value) for field, value in zip(fields, after[:-1], strict=True))
            and isinstance(after[-1], int)
        ):
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise bad_request("Invalid marker") from None
    return query, after
