"""Reading Timers documents: jobs into :class:`Timer`, results into :class:`TimerRun`.

Pure functions; the status derivation follows the service's result fields (``errors``,
``run_status``, ``data.status``, the submission's HTTP status).
"""

from __future__ import annotations

import re
from typing import Any

from .._converter import parse_datetime, register_model, structure
from .._errors import ResponseParseError
from .._timer_models import RunResult, Timer, TimerRun, TimerRunError, TimerRunStatus

__all__ = [
    "derive_status",
    "parse_results",
    "run_result",
    "timer_from_document",
    "timer_run",
]

register_model(Timer)

_FLOW_CALLBACK = re.compile(r"/flows/([^/]+)/run/?$")
_FAILED = frozenset({"FAILED", "ENDED", "FAILURE", "ERROR"})
_SUCCEEDED = frozenset({"SUCCEEDED", "SUCCESS"})


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _infer_type(callback_url: str | None) -> str | None:
    if callback_url is None:
        return None
    if _FLOW_CALLBACK.search(callback_url) and "flows." in callback_url:
        return "flow"
    if "/transfer/" in callback_url:
        return "transfer"
    return None


def timer_from_document(document: Any, *, text: str = "") -> Timer:
    """A :class:`Timer` from a job document (v1 or v2 field names)."""
    if not isinstance(document, dict):
        raise ResponseParseError("unexpected Timer document: not a JSON object", text=text)
    callback_url = _str_or_none(document.get("callback_url"))
    flow_id = _str_or_none(document.get("flow_id"))
    if flow_id is None and callback_url is not None:
        match = _FLOW_CALLBACK.search(callback_url)
        flow_id = match.group(1) if match else None
    normalized = {
        key: document[key]
        for key in (
            "name",
            "status",
            "schedule",
            "callback_url",
            "callback_body",
            "submitted_at",
            "last_ran_at",
            "next_run",
            "inactive_reason",
            "activity",
        )
        if document.get(key) is not None
    }
    normalized["timer_id"] = document.get("job_id", document.get("timer_id"))
    normalized["timer_type"] = _str_or_none(document.get("timer_type")) or _infer_type(callback_url)
    normalized["flow_id"] = flow_id
    for name, legacy in (("number_of_runs", "n_runs"), ("number_of_errors", "n_errors")):
        count = document.get(name, document.get(legacy))
        if count is not None:
            normalized[name] = count
    normalized.update(_schedule_fields(document))
    body = _body(document, normalized["timer_type"])
    if body is not None:
        normalized["body"] = body
    timer = structure(normalized, Timer, text=text)
    object.__setattr__(timer, "raw", document)
    return timer


def _schedule_fields(document: dict[str, Any]) -> dict[str, Any]:
    """``start``, ``interval``, ``stop_after`` and ``scope``: the v1 fields, else from ``schedule``.

    A v2 document has only ``schedule``: ``{"type": "once", "datetime"?}`` or
    ``{"type": "recurring", "interval_seconds", "start"?, "end"?}`` where ``end`` is
    ``{"condition": "time", "datetime"}`` or ``{"condition": "iterations", "count"}``.
    """
    fields = {
        key: document[key]
        for key in ("start", "interval", "stop_after", "scope")
        if document.get(key) is not None
    }
    schedule = document.get("schedule")
    if not isinstance(schedule, dict):
        return fields
    once = schedule.get("type") == "once"
    start = schedule.get("datetime") if once else schedule.get("start")
    if "start" not in fields and start is not None:
        fields["start"] = start
    if "interval" not in fields and not once and schedule.get("interval_seconds") is not None:
        fields["interval"] = schedule["interval_seconds"]
    if "stop_after" in fields or "stop_after" in document:
        return fields
    end = schedule.get("end")
    if once:
        fields["stop_after"] = {"date": None, "n_runs": 1}
    elif isinstance(end, dict) and end.get("datetime") is not None:
        fields["stop_after"] = {"date": end["datetime"], "n_runs": None}
    elif isinstance(end, dict) and end.get("count") is not None:
        fields["stop_after"] = {"date": None, "n_runs": end["count"]}
    return fields


def _body(document: dict[str, Any], timer_type: str | None) -> Any:
    """What each run submits: the v2 ``body``, or the same read from v1's ``callback_body``.

    A v1 flow timer's ``callback_body`` is already ``{"body", "run_managers", ...}``; other
    v1 timers wrap their document as ``{"body": {...}}``.
    """
    if document.get("body") is not None:
        return document["body"]
    callback_body = document.get("callback_body")
    if not isinstance(callback_body, dict) or timer_type == "flow":
        return callback_body
    return callback_body.get("body")


def _data(result: dict[str, Any]) -> dict[str, Any]:
    data = result.get("data")
    return data if isinstance(data, dict) else {}


def _run_status(result: dict[str, Any]) -> str | None:
    """The newest known status of the started run: ``run_status``, else the submission's."""
    return _str_or_none(result.get("run_status")) or _str_or_none(_data(result).get("status"))


def _submission_status(result: dict[str, Any]) -> int | None:
    for key in ("http_status_submission", "status"):
        value = result.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def derive_status(result: dict[str, Any]) -> str:
    """``"failure"``, ``"success"``, ``"in_progress"`` or ``"pending"`` for one result."""
    if result.get("errors"):
        return TimerRunStatus.FAILURE
    submitted = _submission_status(result)
    if submitted is not None and submitted >= 400:
        return TimerRunStatus.FAILURE
    status = (_run_status(result) or "").upper()
    if status in _FAILED:
        return TimerRunStatus.FAILURE
    if status in _SUCCEEDED:
        return TimerRunStatus.SUCCESS
    started = submitted is not None or status or result.get("resource_id") or _data(result)
    return TimerRunStatus.IN_PROGRESS if started else TimerRunStatus.PENDING


def _error(errors: Any) -> TimerRunError | None:
    if not errors:
        return None
    if isinstance(errors, list):
        errors = errors[0] if len(errors) == 1 else {"detail": errors}
    if isinstance(errors, dict) and isinstance(errors.get("error"), dict):
        # The callback's error answer as the service sent it: {"error": {...}, "debug_id"}.
        errors = errors["error"]
    if isinstance(errors, dict):
        code = _str_or_none(errors.get("code")) or "ERROR"
        message = (
            _str_or_none(errors.get("message"))
            or _str_or_none(errors.get("description"))
            or (errors["detail"] if isinstance(errors.get("detail"), str) else "")
        )
        return TimerRunError(code=code, message=message, detail=errors.get("detail"))
    try:
        message = str(errors)
    except RecursionError:  # nested too deeply to print
        message = type(errors).__name__
    return TimerRunError(code="ERROR", message=message)


def run_result(result: dict[str, Any]) -> RunResult:
    """The :class:`RunResult` of one result entry."""
    data = _data(result)
    run_id = (
        _str_or_none(result.get("resource_id"))
        or _str_or_none(data.get("run_id"))
        or _str_or_none(data.get("action_id"))
    )
    error = _error(result.get("errors"))
    if error is None and (_run_status(result) or "").upper() in _FAILED:
        # ``data`` is the run as submitted: its details say why it failed only when it
        # already shows the failure (or no status at all), not when it was still running.
        data_status = _str_or_none(data.get("status"))
        stale = data_status is not None and data_status.upper() not in _FAILED
        details = None if stale else data.get("details")
        code = details.get("code") if isinstance(details, dict) else None
        description = details.get("description") if isinstance(details, dict) else None
        error = TimerRunError(
            code=code if isinstance(code, str) else "RUN_FAILED",
            message=description if isinstance(description, str) else "the run failed",
        )
    return RunResult(
        status=_run_status(result),
        status_code=_submission_status(result),
        run_id=run_id,
        error=error,
    )


def _time(value: Any) -> Any:
    return None if value is None else parse_datetime(value)


def timer_run(result: Any, timer_id: str) -> TimerRun:
    """A :class:`TimerRun` from one result entry of a job document."""
    if not isinstance(result, dict):
        raise ResponseParseError("unexpected timer result: not a JSON object")
    try:
        start = _time(result.get("start_timestamp") or result.get("ran_at"))
        end = _time(result.get("end_timestamp"))
        ran_at = _time(result.get("ran_at"))
        next_check = _time(result.get("next_check_timestamp"))
        last_check = _time(result.get("last_check_timestamp"))
    except Exception as exc:
        raise ResponseParseError(f"unexpected timer result: {exc}") from exc
    polled = result.get("http_status_polled")
    if polled is not None and (not isinstance(polled, int) or isinstance(polled, bool)):
        raise ResponseParseError("unexpected timer result: http_status_polled is not an int")
    outcome = run_result(result)
    return TimerRun(
        id=outcome.run_id,
        timer_id=timer_id,
        status=derive_status(result),
        start_time=start,
        end_time=end,
        result=outcome,
        raw=result,
        ran_at=ran_at,
        next_check_timestamp=next_check,
        last_check_timestamp=last_check,
        http_status_polled=polled,
    )


def parse_results(document: Any, timer_id: str) -> tuple[list[TimerRun], str | None]:
    """The runs on this page of a job document and the token of the next page.

    ``results`` may be ``{"data": [...], "page_next": ...}`` or a bare list.
    """
    if not isinstance(document, dict):
        raise ResponseParseError("unexpected job document: not a JSON object")
    results = document.get("results")
    page_next: Any = None
    if isinstance(results, dict):
        page_next = results.get("page_next")
        entries = results.get("data")
    else:
        entries = results
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise ResponseParseError("unexpected job document: results is not a list")
    if page_next is not None and not isinstance(page_next, str):
        raise ResponseParseError("unexpected job document: page_next is not a string")
    return [timer_run(entry, timer_id) for entry in entries], page_next or None
