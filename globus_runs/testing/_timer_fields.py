"""Validation of the JSON bodies the emulated Timers service accepts.

Problems are collected FastAPI-style, every bad field at once with its ``loc``
(``["body", "timer", "schedule", "interval_seconds"]``), into one 422. Keys
that are not documented are ignored, as the real service does, except in a
rename, where only ``name`` may be changed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, Literal

import attrs

from ._errors import ApiError, unprocessable, validation_item
from ._wire import is_principal_urn, parse_time

MIN_INTERVAL_SECONDS = 60
CALLBACK_LIST_FIELDS = ("run_managers", "run_monitors", "tags")

Loc = tuple[str | int, ...]


@attrs.frozen
class Schedule:
    """When a timer fires, as submitted: first at ``start`` (``None``: as soon as
    possible), then every ``interval`` seconds (``None``: only once), until ``end`` or
    ``limit`` firings, whichever comes first."""

    start: datetime | None
    interval: float | None = None
    end: datetime | None = None
    limit: int | None = None


TimerType = Literal["flow", "transfer"]

FLOWS_CALLBACK_BASE = "https://flows.automate.globus.org"
TRANSFER_CALLBACK_URL = "https://actions.automate.globus.org/transfer/transfer/run"


@attrs.frozen
class TimerRequest:
    """A validated request to create a timer: a flow timer (``flow_id`` set; the body is
    the run's input, tags, managers, monitors) or a transfer timer (the body is the
    Transfer task)."""

    timer_type: TimerType
    flow_id: str | None
    name: str | None
    schedule: Schedule
    schedule_document: dict[str, Any]
    callback_body: dict[str, Any]


class Problems:
    """Validation problems found so far in one body."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, loc: Loc, msg: str, type_: str) -> None:
        """Note one problem at ``loc``."""
        self.items.append(validation_item(loc, msg, type_))

    def missing(self, loc: Loc) -> None:
        """Note a required field that was not given."""
        self.add(loc, "field required", "value_error.missing")

    def raise_if_any(self) -> None:
        """A 422 listing every problem, if there is one."""
        if self.items:
            raise ApiError(422, "UNPROCESSABLE_ENTITY", list(self.items))


def _object(value: Any, loc: Loc, problems: Problems) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    problems.add(loc, "value is not a valid dict", "type_error.dict")
    return None


def _require_object(value: Any, loc: Loc) -> dict[str, Any]:
    """``value`` if it is an object; a 422 right away otherwise (nothing else to check)."""
    if not isinstance(value, dict):
        raise unprocessable(loc, "value is not a valid dict", "type_error.dict")
    return value


def _datetime(value: Any, loc: Loc, problems: Problems) -> datetime | None:
    if isinstance(value, str):
        try:
            return parse_time(value)
        except ValueError:
            pass
    problems.add(loc, "invalid datetime format", "value_error.datetime")
    return None


def _positive_int(value: Any, loc: Loc, problems: Problems, minimum: int) -> int | None:
    number: int
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        problems.add(loc, "value is not a valid integer", "type_error.integer")
        return None
    if number < minimum:
        problems.add(
            loc,
            f"ensure this value is greater than or equal to {minimum}",
            "value_error.number.not_ge",
        )
        return None
    return number


def _end(value: Any, loc: Loc, problems: Problems) -> tuple[datetime | None, int | None]:
    end = _object(value, loc, problems)
    if end is None:
        return None, None
    condition = end.get("condition")
    if condition == "time":
        if "datetime" not in end:
            problems.missing((*loc, "datetime"))
            return None, None
        return _datetime(end["datetime"], (*loc, "datetime"), problems), None
    if condition == "iterations":
        if "count" not in end:
            problems.missing((*loc, "count"))
            return None, None
        return None, _positive_int(end["count"], (*loc, "count"), problems, 1)
    problems.add(
        (*loc, "condition"),
        "unexpected value; permitted: 'time', 'iterations'",
        "value_error.const",
    )
    return None, None


def parse_schedule(value: Any, loc: Loc, problems: Problems) -> Schedule | None:
    """A ``once`` or ``recurring`` schedule; ``None`` (with problems noted) if invalid."""
    schedule = _object(value, loc, problems)
    if schedule is None:
        return None
    kind = schedule.get("type")
    if kind == "once":
        if schedule.get("datetime") is None:
            return Schedule(start=None, limit=1)
        moment = _datetime(schedule["datetime"], (*loc, "datetime"), problems)
        return None if moment is None else Schedule(start=moment, limit=1)
    if kind != "recurring":
        problems.add(
            (*loc, "type"), "unexpected value; permitted: 'once', 'recurring'", "value_error.const"
        )
        return None
    before = len(problems.items)
    interval: int | None = None
    if "interval_seconds" not in schedule:
        problems.missing((*loc, "interval_seconds"))
    else:
        interval = _positive_int(
            schedule["interval_seconds"],
            (*loc, "interval_seconds"),
            problems,
            MIN_INTERVAL_SECONDS,
        )
    start = None
    if schedule.get("start") is not None:
        start = _datetime(schedule["start"], (*loc, "start"), problems)
    end: datetime | None = None
    limit: int | None = None
    if schedule.get("end") is not None:
        end, limit = _end(schedule["end"], (*loc, "end"), problems)
    if len(problems.items) > before or interval is None:
        return None
    return Schedule(start=start, interval=float(interval), end=end, limit=limit)


def _string_list(value: Any, loc: Loc, problems: Problems, *, principals: bool) -> None:
    valid = is_principal_urn if principals else (lambda item: isinstance(item, str))
    if not isinstance(value, list) or not all(valid(item) for item in value):
        if principals:
            problems.add(
                loc,
                "must be a list of identity or group URNs "
                "(urn:globus:auth:identity:<id> or urn:globus:groups:id:<id>)",
                "value_error.principal_urn",
            )
        else:
            problems.add(loc, "value is not a valid list of strings", "type_error.list")


def parse_callback_body(value: Any, loc: Loc, problems: Problems) -> dict[str, Any] | None:
    """A flow timer's ``body``: the run input and the run's tags, managers and monitors.

    Only these keys, when given and not null, are kept (and echoed in the job document).
    """
    callback = _object(value, loc, problems)
    if callback is None:
        return None
    kept: dict[str, Any] = {}
    if "body" not in callback:
        problems.missing((*loc, "body"))
    elif _object(callback["body"], (*loc, "body"), problems) is not None:
        kept["body"] = callback["body"]
    for name in CALLBACK_LIST_FIELDS:
        if callback.get(name) is not None:
            _string_list(callback[name], (*loc, name), problems, principals=name != "tags")
            kept[name] = callback[name]
    return kept


def _name(value: Any, loc: Loc, problems: Problems) -> str | None:
    if isinstance(value, str):
        return value
    problems.add(loc, "str type expected", "type_error.str")
    return None


def _required(document: dict[str, Any], name: str, loc: Loc, problems: Problems) -> Any:
    if name not in document:
        problems.missing((*loc, name))
    return document.get(name)


TRANSFER_RESOURCE_SERVER = "transfer.api.globus.org"


def _transfer_body(value: Any, loc: Loc, problems: Problems) -> dict[str, Any] | None:
    """A transfer timer's ``body``: a Transfer task document naming both endpoints."""
    body = _object(value, loc, problems)
    if body is None:
        return None
    for name in ("source_endpoint", "destination_endpoint"):
        if not isinstance(body.get(name), str) or not body[name]:
            problems.missing((*loc, name))
    if not isinstance(body.get("DATA"), list):
        problems.missing((*loc, "DATA"))
    return body


# The input of the Transfer action, as a v1 job's ``callback_body`` wraps it: each field
# by the Transfer API's name or by the action's older one.
_TRANSFER_ACTION_FIELDS = (
    ("source_endpoint", "source_endpoint_id"),
    ("destination_endpoint", "destination_endpoint_id"),
    ("DATA", "transfer_items"),
)


def _transfer_callback(value: Any, loc: Loc, problems: Problems) -> dict[str, Any] | None:
    """A v1 transfer job's ``callback_body``: ``{"body": <the Transfer action's input>}``
    (what official clients send), or the Transfer task document itself."""
    callback = _object(value, loc, problems)
    if callback is None:
        return None
    if "body" not in callback:
        return _transfer_body(callback, loc, problems)
    action = _object(callback["body"], (*loc, "body"), problems)
    if action is None:
        return None
    for name, older in _TRANSFER_ACTION_FIELDS:
        given = action.get(name, action.get(older))
        valid = isinstance(given, list) if name == "DATA" else isinstance(given, str) and given
        if not valid:
            problems.missing((*loc, "body", name))
    return callback


def parse_timer(payload: Any) -> TimerRequest:
    """Validate a ``POST /v2/timer`` body: a ``flow`` or a ``transfer`` timer."""
    root = _require_object(payload, ("body",))
    loc: Loc = ("body", "timer")
    if "timer" not in root:
        raise unprocessable(loc, "field required", "value_error.missing")
    timer = _require_object(root["timer"], loc)
    problems = Problems()
    timer_type = _required(timer, "timer_type", loc, problems)
    if "timer_type" in timer and timer_type not in ("flow", "transfer"):
        problems.add(
            (*loc, "timer_type"),
            "unexpected value; permitted: 'flow', 'transfer'",
            "value_error.const",
        )
    flow_id = None
    if timer_type == "flow":
        flow_id = _required(timer, "flow_id", loc, problems)
        if "flow_id" in timer and (not isinstance(flow_id, str) or not flow_id):
            problems.add((*loc, "flow_id"), "value is not a valid uuid", "type_error.uuid")
    elif timer.get("resource_server", TRANSFER_RESOURCE_SERVER) != TRANSFER_RESOURCE_SERVER:
        problems.add(
            (*loc, "resource_server"),
            f"unexpected value; permitted: '{TRANSFER_RESOURCE_SERVER}'",
            "value_error.const",
        )
    name = None
    if timer.get("name") is not None:
        name = _name(timer["name"], (*loc, "name"), problems)
    schedule = None
    if "schedule" in timer:
        schedule = parse_schedule(timer["schedule"], (*loc, "schedule"), problems)
    else:
        problems.missing((*loc, "schedule"))
    body = None
    if "body" not in timer:
        problems.missing((*loc, "body"))
    elif timer_type == "transfer":
        body = _transfer_body(timer["body"], (*loc, "body"), problems)
    else:
        body = parse_callback_body(timer["body"], (*loc, "body"), problems)
    problems.raise_if_any()
    if schedule is None or body is None:  # pragma: no cover - reported as problems above
        raise AssertionError("an invalid timer passed validation")
    return TimerRequest(
        timer_type=timer_type,
        flow_id=flow_id,
        name=name,
        schedule=schedule,
        schedule_document=dict(timer["schedule"]),
        callback_body=body,
    )


def parse_job(payload: Any, flow_ids: Collection[str]) -> TimerRequest:
    """Validate a ``POST /jobs/`` body (the older way to create a timer): a flow timer when
    ``callback_url`` is the run URL of a flow in ``flow_ids``, a transfer timer when it is
    Transfer's action URL (its ``callback_body`` then wraps the action's input in ``body``,
    or is the Transfer task document). The schedule is ``start``, ``interval`` (seconds;
    none: once), ``stop_after`` (a datetime) and ``stop_after_n``."""
    job = _require_object(payload, ("body",))
    problems = Problems()
    url = _required(job, "callback_url", ("body",), problems)
    callback = _required(job, "callback_body", ("body",), problems)
    timer_type: TimerType = "flow"
    flow_id = None
    if url == TRANSFER_CALLBACK_URL:
        timer_type = "transfer"
    elif isinstance(url, str):
        flow_id = next(
            (fid for fid in flow_ids if url == f"{FLOWS_CALLBACK_BASE}/flows/{fid}/run"), None
        )
        if flow_id is None:
            problems.add(
                ("body", "callback_url"),
                "not the run URL of a known flow, nor Transfer's action URL",
                "value_error.callback_url",
            )
    document: dict[str, Any] = {"type": "once"}
    if job.get("interval") is not None:
        document = {"type": "recurring", "interval_seconds": job["interval"]}
        if job.get("start") is not None:
            document["start"] = job["start"]
        if job.get("stop_after") is not None:
            document["end"] = {"condition": "time", "datetime": job["stop_after"]}
        elif job.get("stop_after_n") is not None:
            document["end"] = {"condition": "iterations", "count": job["stop_after_n"]}
    elif job.get("start") is not None:
        document["datetime"] = job["start"]
    schedule = parse_schedule(document, ("body",), problems)
    name = None
    if job.get("name") is not None:
        name = _name(job["name"], ("body", "name"), problems)
    body = None
    if callback is not None:
        if timer_type == "transfer":
            body = _transfer_callback(callback, ("body", "callback_body"), problems)
        else:
            body = parse_callback_body(callback, ("body", "callback_body"), problems)
    problems.raise_if_any()
    if schedule is None or body is None:  # pragma: no cover - reported as problems above
        raise AssertionError("an invalid job passed validation")
    return TimerRequest(
        timer_type=timer_type,
        flow_id=flow_id,
        name=name,
        schedule=schedule,
        schedule_document=document,
        callback_body=body,
    )


def parse_rename(payload: Any) -> str | None:
    """Validate a ``PATCH /jobs/{id}`` body: the new name, or ``None`` for no change."""
    document = _require_object(payload, ("body",))
    problems = Problems()
    for key in document:
        if key != "name":
            problems.add(("body", key), "extra fields not permitted", "value_error.extra")
    name = None
    if "name" in document:
        name = _name(document["name"], ("body", "name"), problems)
    problems.raise_if_any()
    return name


def parse_resume(payload: Any) -> bool:
    """The ``update_credentials`` flag of a resume body (absent or empty body: false)."""
    if payload is None:
        return False
    document = _require_object(payload, ("body",))
    flag = document.get("update_credentials", False)
    if not isinstance(flag, bool):
        raise unprocessable(
            ("body", "update_credentials"),
            "value could not be parsed to a boolean",
            "type_error.bool",
        )
    return flag


def check_schedule(value: Any) -> Schedule:
    """A schedule given to the fake directly; raises `ValueError` when invalid."""
    problems = Problems()
    schedule = parse_schedule(value, ("schedule",), problems)
    if schedule is None:
        raise ValueError("; ".join(_describe(item) for item in problems.items))
    return schedule


def _describe(item: dict[str, Any]) -> str:
    loc: Sequence[Any] = item["loc"]
    return f"{item['msg']}: {'.'.join(str(part) for part in loc)}"
