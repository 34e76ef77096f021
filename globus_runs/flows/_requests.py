"""What each Flows operation sends: pure functions from arguments to :class:`ApiRequest`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .._auth import FLOWS_RESOURCE_SERVER
from .._errors import FlowNotFoundError, InvalidRequestError, NotFoundError, RunNotFoundError
from .._wire import ApiRequest, QueryValue, encode_query, id_segment, json_body, time_range

__all__ = [
    "RunFilters",
    "cancel_run",
    "get_run",
    "get_run_definition",
    "get_run_logs",
    "list_runs",
    "next_page",
    "release_run",
    "resume_run",
    "run_flow",
    "update_run",
    "validate_run",
]

TimeRange = tuple[datetime | None, datetime | None]
StrOrSeq = str | Sequence[str]
RunFilters = dict[str, Any]

# Flows documents no maximum page size for ``GET /runs``: any positive ``per_page`` is sent and
# the service refuses what it does not accept. 50 is known to work; the client asks for it.
MAX_PER_PAGE = 50
MAX_LOG_LIMIT = 100
NOTIFY_STATUSES = frozenset({"INACTIVE", "SUCCEEDED", "FAILED"})


def _str_list(value: Sequence[str] | None, name: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not all(isinstance(item, str) for item in value):
        raise InvalidRequestError(f"{name} must be a sequence of str")
    return list(value)


def _notification_policy(value: Mapping[str, Any] | Sequence[str]) -> dict[str, Any]:
    statuses = value.get("status") if isinstance(value, Mapping) else value
    if isinstance(statuses, str) or not isinstance(statuses, Sequence):
        raise InvalidRequestError(
            "activity_notification_policy must be {'status': [...]} or a sequence of statuses"
        )
    unknown = [status for status in statuses if status not in NOTIFY_STATUSES]
    if unknown:
        raise InvalidRequestError(
            f"activity_notification_policy statuses must be among {sorted(NOTIFY_STATUSES)}"
        )
    return {"status": list(statuses)}


def _start_body(
    body: Mapping[str, Any],
    *,
    label: str | None,
    tags: Sequence[str] | None,
    run_monitors: Sequence[str] | None,
    run_managers: Sequence[str] | None,
    activity_notification_policy: Mapping[str, Any] | Sequence[str] | None,
    additional_fields: Mapping[str, Any] | None,
) -> bytes:
    if not isinstance(body, Mapping):
        raise InvalidRequestError(f"body must be a mapping, not {type(body).__name__}")
    if label is not None and not isinstance(label, str):
        raise InvalidRequestError("label must be a str")
    document: dict[str, Any] = {"body": dict(body)}
    optional: dict[str, Any] = {
        "label": label,
        "tags": _str_list(tags, "tags"),
        "run_monitors": _str_list(run_monitors, "run_monitors"),
        "run_managers": _str_list(run_managers, "run_managers"),
        "activity_notification_policy": (
            None
            if activity_notification_policy is None
            else _notification_policy(activity_notification_policy)
        ),
    }
    document.update((key, value) for key, value in optional.items() if value is not None)
    if additional_fields:
        document.update(additional_fields)
    return json_body(document)


def _start(
    action: str,
    flow_id: str,
    body: Mapping[str, Any],
    *,
    label: str | None,
    tags: Sequence[str] | None,
    run_monitors: Sequence[str] | None,
    run_managers: Sequence[str] | None,
    activity_notification_policy: Mapping[str, Any] | Sequence[str] | None,
    additional_fields: Mapping[str, Any] | None,
) -> ApiRequest:
    segment = id_segment(flow_id, "flow_id")
    return ApiRequest(
        "POST",
        f"/flows/{segment}/{action}",
        resource_server=flow_id,
        body=_start_body(
            body,
            label=label,
            tags=tags,
            run_monitors=run_monitors,
            run_managers=run_managers,
            activity_notification_policy=activity_notification_policy,
            additional_fields=additional_fields,
        ),
        not_found=FlowNotFoundError,
        # Starting is not idempotent; validating is.
        idempotent=action != "run",
    )


def run_flow(
    flow_id: str,
    body: Mapping[str, Any],
    *,
    label: str | None = None,
    tags: Sequence[str] | None = None,
    run_monitors: Sequence[str] | None = None,
    run_managers: Sequence[str] | None = None,
    activity_notification_policy: Mapping[str, Any] | Sequence[str] | None = None,
    additional_fields: Mapping[str, Any] | None = None,
) -> ApiRequest:
    """``POST /flows/{flow_id}/run``: not idempotent, authorized for the flow's own scope."""
    return _start(
        "run",
        flow_id,
        body,
        label=label,
        tags=tags,
        run_monitors=run_monitors,
        run_managers=run_managers,
        activity_notification_policy=activity_notification_policy,
        additional_fields=additional_fields,
    )


def validate_run(
    flow_id: str,
    body: Mapping[str, Any],
    *,
    label: str | None = None,
    tags: Sequence[str] | None = None,
    run_monitors: Sequence[str] | None = None,
    run_managers: Sequence[str] | None = None,
    activity_notification_policy: Mapping[str, Any] | Sequence[str] | None = None,
    additional_fields: Mapping[str, Any] | None = None,
) -> ApiRequest:
    """``POST /flows/{flow_id}/validate_run``: the start request, checked but not started."""
    return _start(
        "validate_run",
        flow_id,
        body,
        label=label,
        tags=tags,
        run_monitors=run_monitors,
        run_managers=run_managers,
        activity_notification_policy=activity_notification_policy,
        additional_fields=additional_fields,
    )


def _orderby(value: StrOrSeq | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    items = list(value)
    if not all(isinstance(item, str) for item in items):
        raise InvalidRequestError("orderby must be a str or a sequence of str")
    return ",".join(items)


def _per_page(value: int | None, maximum: int, name: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= maximum:
        raise InvalidRequestError(f"{name} must be an int from 1 to {maximum}")
    return value


def _positive(value: int | None, name: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidRequestError(f"{name} must be a positive int")
    return value


def list_runs(
    *,
    filter_flow_id: StrOrSeq | None = None,
    filter_status: StrOrSeq | None = None,
    filter_label: StrOrSeq | None = None,
    filter_flow_title: StrOrSeq | None = None,
    filter_roles: StrOrSeq | None = None,
    filter_start_time: TimeRange | None = None,
    filter_completion_time: TimeRange | None = None,
    orderby: StrOrSeq | None = None,
    per_page: int | None = None,
    marker: str | None = None,
) -> ApiRequest:
    """``GET /runs``; with a ``marker`` only the marker is sent (it carries the rest)."""
    if marker is not None:
        return next_page("/runs", marker)
    params: dict[str, QueryValue] = {
        "filter_flow_id": filter_flow_id,
        "filter_status": filter_status,
        "filter_label": filter_label,
        "filter_flow_title": filter_flow_title,
        "filter_roles": filter_roles,
        "filter_start_time": time_range(filter_start_time, "filter_start_time"),
        "filter_completion_time": time_range(filter_completion_time, "filter_completion_time"),
        "orderby": _orderby(orderby),
        "per_page": _positive(per_page, "per_page"),
    }
    return ApiRequest("GET", "/runs", FLOWS_RESOURCE_SERVER, params=encode_query(params))


def next_page(
    path: str, marker: str, *, not_found: type[NotFoundError] = NotFoundError
) -> ApiRequest:
    """A follow-up page: only the marker is sent."""
    if not isinstance(marker, str) or not marker:
        raise InvalidRequestError("marker must be a non-empty str")
    return ApiRequest(
        "GET", path, FLOWS_RESOURCE_SERVER, params=(("marker", marker),), not_found=not_found
    )


def _run_path(run_id: str, suffix: str = "") -> str:
    return f"/runs/{id_segment(run_id, 'run_id')}{suffix}"


def get_run(run_id: str, *, include_flow_description: bool = False) -> ApiRequest:
    """``GET /runs/{run_id}``."""
    params: tuple[tuple[str, str], ...] = ()
    if include_flow_description:
        params = (("include_flow_description", "true"),)
    return ApiRequest(
        "GET", _run_path(run_id), FLOWS_RESOURCE_SERVER, params=params, not_found=RunNotFoundError
    )


def update_run(
    run_id: str,
    *,
    label: str | None = None,
    tags: Sequence[str] | None = None,
    run_monitors: Sequence[str] | None = None,
    run_managers: Sequence[str] | None = None,
) -> ApiRequest:
    """``PUT /runs/{run_id}`` with only the fields given (an empty list clears one)."""
    path = _run_path(run_id)
    if label is not None and not isinstance(label, str):
        raise InvalidRequestError("label must be a str")
    fields: dict[str, Any] = {
        "label": label,
        "tags": _str_list(tags, "tags"),
        "run_monitors": _str_list(run_monitors, "run_monitors"),
        "run_managers": _str_list(run_managers, "run_managers"),
    }
    document = {key: value for key, value in fields.items() if value is not None}
    return ApiRequest(
        "PUT",
        path,
        FLOWS_RESOURCE_SERVER,
        body=json_body(document),
        not_found=RunNotFoundError,
    )


def _run_action(
    run_id: str, action: str, resource_server: str = FLOWS_RESOURCE_SERVER
) -> ApiRequest:
    return ApiRequest(
        "POST", _run_path(run_id, f"/{action}"), resource_server, not_found=RunNotFoundError
    )


def cancel_run(run_id: str) -> ApiRequest:
    """``POST /runs/{run_id}/cancel`` (answered 202). Repeating it is harmless."""
    return _run_action(run_id, "cancel")


def release_run(run_id: str) -> ApiRequest:
    """``POST /runs/{run_id}/release``: remove a finished run."""
    return _run_action(run_id, "release")


def resume_run(run_id: str, flow_id: str) -> ApiRequest:
    """``POST /runs/{run_id}/resume``, authorized for the run's flow (its resource server)."""
    id_segment(flow_id, "flow_id")
    return _run_action(run_id, "resume", resource_server=flow_id)


def get_run_definition(run_id: str) -> ApiRequest:
    """``GET /runs/{run_id}/definition``."""
    return ApiRequest(
        "GET", _run_path(run_id, "/definition"), FLOWS_RESOURCE_SERVER, not_found=RunNotFoundError
    )


def get_run_logs(
    run_id: str, *, limit: int | None = 10, marker: str | None = None, reverse_order: bool = False
) -> ApiRequest:
    """``GET /runs/{run_id}/log``; with a ``marker`` only the marker is sent."""
    path = _run_path(run_id, "/log")
    if marker is not None:
        return next_page(path, marker, not_found=RunNotFoundError)
    params: dict[str, QueryValue] = {
        "limit": _per_page(limit, MAX_LOG_LIMIT, "limit"),
        "reverse_order": True if reverse_order else None,
    }
    return ApiRequest(
        "GET", path, FLOWS_RESOURCE_SERVER, params=encode_query(params), not_found=RunNotFoundError
    )
