"""What each Timers operation sends: pure functions from arguments to :class:`ApiRequest`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .._auth import TIMERS_RESOURCE_SERVER
from .._errors import InvalidRequestError, TimerNotFoundError
from .._wire import ApiRequest, QueryValue, encode_query, id_segment, json_body

__all__ = [
    "create_flow_timer",
    "delete_timer",
    "get_timer",
    "list_timers",
    "pause_timer",
    "resume_timer",
    "timer_page",
    "update_timer",
]

RS = TIMERS_RESOURCE_SERVER
MAX_PAGE_SIZE = 100


def _job_path(timer_id: str, suffix: str = "") -> str:
    return f"/jobs/{id_segment(timer_id, 'timer_id')}{suffix}"


def _str_list(value: Sequence[str] | None, name: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not all(isinstance(item, str) for item in value):
        raise InvalidRequestError(f"{name} must be a sequence of str")
    return list(value)


def create_flow_timer(
    flow_id: str,
    body: Mapping[str, Any],
    *,
    schedule: Mapping[str, Any],
    name: str | None = None,
    run_managers: Sequence[str] | None = None,
    run_monitors: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
) -> ApiRequest:
    """``POST /v2/timer`` for a timer that starts runs of ``flow_id``."""
    id_segment(flow_id, "flow_id")
    if not isinstance(body, Mapping):
        raise InvalidRequestError("body must be a mapping")
    if not isinstance(schedule, Mapping) or schedule.get("type") not in ("once", "recurring"):
        raise InvalidRequestError("schedule must be a mapping with type 'once' or 'recurring'")
    if schedule["type"] == "recurring":
        interval = schedule.get("interval_seconds")
        if not isinstance(interval, int | float) or isinstance(interval, bool) or interval < 60:
            raise InvalidRequestError("a recurring schedule needs interval_seconds of at least 60")
    callback: dict[str, Any] = {"body": dict(body)}
    extras = {
        "run_managers": _str_list(run_managers, "run_managers"),
        "run_monitors": _str_list(run_monitors, "run_monitors"),
        "tags": _str_list(tags, "tags"),
    }
    callback.update((key, value) for key, value in extras.items() if value is not None)
    timer: dict[str, Any] = {"timer_type": "flow", "flow_id": flow_id}
    if name is not None:
        timer["name"] = name
    timer["schedule"] = dict(schedule)
    timer["body"] = callback
    return ApiRequest("POST", "/v2/timer", RS, body=json_body({"timer": timer}), idempotent=False)


def get_timer(timer_id: str) -> ApiRequest:
    """``GET /jobs/{timer_id}``."""
    return ApiRequest("GET", _job_path(timer_id), RS, not_found=TimerNotFoundError)


def timer_page(timer_id: str, *, page_size: int | None, marker: str | None) -> ApiRequest:
    """``GET /jobs/{timer_id}?page_size=&results_pt=``: one page of the timer's results."""
    if page_size is not None and (
        not isinstance(page_size, int) or isinstance(page_size, bool) or not page_size >= 1
    ):
        raise InvalidRequestError("limit must be a positive int")
    if marker is not None and (not isinstance(marker, str) or not marker):
        raise InvalidRequestError("marker must be a non-empty str")
    params: dict[str, QueryValue] = {"page_size": page_size, "results_pt": marker}
    return ApiRequest(
        "GET", _job_path(timer_id), RS, params=encode_query(params), not_found=TimerNotFoundError
    )


def _aware(value: datetime | None, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidRequestError(f"{name} must be a timezone-aware datetime")
    return value.isoformat()


def _order(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError("order must be a non-empty str such as 'submitted_at desc'")
    return value


def list_timers(
    *,
    filter_status: str | Sequence[str] | None = None,
    filter_name: str | None = None,
    order: str | None = None,
    submitted_after: datetime | None = None,
    submitted_before: datetime | None = None,
    result_count: int | None = None,
) -> ApiRequest:
    """``GET /jobs/`` with optional filters, order and number of results per timer."""
    if result_count is not None and (
        not isinstance(result_count, int) or isinstance(result_count, bool) or result_count < 0
    ):
        raise InvalidRequestError("result_count must be an int >= 0")
    params: dict[str, QueryValue] = {
        "filter_status": filter_status,
        "filter_name": filter_name,
        "submitted_after": _aware(submitted_after, "submitted_after"),
        "submitted_before": _aware(submitted_before, "submitted_before"),
        "order": _order(order),
        "result_count": result_count,
    }
    return ApiRequest("GET", "/jobs/", RS, params=encode_query(params))


def update_timer(timer_id: str, *, name: str) -> ApiRequest:
    """``PATCH /jobs/{timer_id}``: rename."""
    if not isinstance(name, str):
        raise InvalidRequestError("name must be a str")
    return ApiRequest(
        "PATCH",
        _job_path(timer_id),
        RS,
        body=json_body({"name": name}),
        not_found=TimerNotFoundError,
    )


def pause_timer(timer_id: str) -> ApiRequest:
    """``POST /jobs/{timer_id}/pause``."""
    return ApiRequest("POST", _job_path(timer_id, "/pause"), RS, not_found=TimerNotFoundError)


def resume_timer(timer_id: str, *, update_credentials: bool | None = False) -> ApiRequest:
    """``POST /jobs/{timer_id}/resume``.

    ``update_credentials`` goes in the query and the body when it is ``True`` or ``False``;
    ``None`` sends neither, and the service decides from why the timer became inactive.
    """
    path = _job_path(timer_id, "/resume")
    if update_credentials is None:
        return ApiRequest("POST", path, RS, not_found=TimerNotFoundError)
    if not isinstance(update_credentials, bool):
        raise InvalidRequestError("update_credentials must be True, False or None")
    return ApiRequest(
        "POST",
        path,
        RS,
        params=encode_query({"update_credentials": update_credentials}),
        body=json_body({"update_credentials": update_credentials}),
        not_found=TimerNotFoundError,
    )


def delete_timer(timer_id: str) -> ApiRequest:
    """``DELETE /jobs/{timer_id}``."""
    return ApiRequest("DELETE", _job_path(timer_id), RS, not_found=TimerNotFoundError)
