"""Reading Timers documents and deriving the status of a timer's runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from globus_runs import (
    InvalidRequestError,
    ResponseParseError,
    RunResult,
    TimerRunError,
    TimerRunStatus,
)
from globus_runs.timers import _requests as rq
from globus_runs.timers._parse import (
    derive_status,
    parse_results,
    run_result,
    timer_from_document,
)
from tests.conftest import Payloads


def test_transfer_job_with_results(payloads: Payloads) -> None:
    document = payloads.json("timers_job_with_results")
    timer = timer_from_document(document)
    assert timer.timer_id == "00000000-0000-1000-8000-000000000008"
    assert timer.name == "example timer"
    assert timer.timer_type == "transfer"
    assert timer.flow_id is None
    assert timer.status == "loaded"
    assert (timer.number_of_runs, timer.number_of_errors) == (1, 0)
    assert timer.next_run == datetime(2022, 4, 11, 19, 30, tzinfo=UTC)
    assert timer.raw is document

    runs, page_next = parse_results(document, timer.timer_id)
    assert page_next is None
    [run] = runs
    assert run.id == "15jfdBESgveZQ"
    assert run.timer_id == timer.timer_id
    assert run.status == TimerRunStatus.IN_PROGRESS
    assert run.start_time == datetime(2022, 4, 1, 19, 30, 7, 103090, tzinfo=UTC)
    assert run.end_time is None
    assert run.result == RunResult(status="ACTIVE", status_code=202, run_id="15jfdBESgveZQ")


def test_created_flow_timer_with_bare_results_list(payloads: Payloads) -> None:
    document = payloads.json("timers_create_flow_timer_201")["timer"]
    timer = timer_from_document(document)
    assert timer.timer_type == "flow"
    assert timer.flow_id == "00000000-0000-1000-8000-0000000000f1"
    assert timer.callback_body == {
        "body": {"input_key": "input_value"},
        "run_managers": ["urn:globus:auth:identity:00000000-0000-1000-8000-000000000004"],
    }
    assert timer.schedule == {"datetime": "2025-10-27T05:00:00+00:00", "type": "once"}
    assert parse_results(document, timer.timer_id) == ([], None)


def _result(**fields: Any) -> dict[str, Any]:
    return {"ran_at": "2026-01-01T00:00:00+00:00", **fields}


@pytest.mark.parametrize(
    ("result", "status"),
    [
        ({}, TimerRunStatus.PENDING),
        (_result(status=201, resource_id="r", run_status="ACTIVE"), TimerRunStatus.IN_PROGRESS),
        (_result(status=201, resource_id="r", run_status="INACTIVE"), TimerRunStatus.IN_PROGRESS),
        (_result(status=201, run_status="SUCCEEDED"), TimerRunStatus.SUCCESS),
        (_result(status=201, data={"status": "SUCCEEDED"}), TimerRunStatus.SUCCESS),
        (_result(status=201, run_status="FAILED"), TimerRunStatus.FAILURE),
        (_result(status=201, data={"status": "ENDED"}), TimerRunStatus.FAILURE),
        (_result(status=201, run_status="SUCCEEDED", errors=[{"code": "X"}]), "failure"),
        (_result(status=403, errors={"code": "FORBIDDEN", "message": "no"}), "failure"),
        (_result(http_status_submission=500), TimerRunStatus.FAILURE),
        # the newest status (run_status) wins over the one at submission (data.status)
        (_result(status=201, run_status="SUCCEEDED", data={"status": "ACTIVE"}), "success"),
    ],
)
def test_status_derivation(result: dict[str, Any], status: str) -> None:
    assert derive_status(result) == status


def test_failed_submission_keeps_its_error_and_has_no_run() -> None:
    outcome = run_result(
        _result(status=403, errors={"code": "FORBIDDEN", "message": "missing consent"})
    )
    assert outcome == RunResult(
        status=None,
        status_code=403,
        run_id=None,
        error=TimerRunError(code="FORBIDDEN", message="missing consent", detail=None),
    )


def test_failed_run_error_comes_from_the_run_details() -> None:
    outcome = run_result(
        _result(
            status=201,
            resource_id="r1",
            run_status="FAILED",
            data={"run_id": "r1", "details": {"code": "ActionFailed", "description": "boom"}},
        )
    )
    assert outcome.run_id == "r1"
    assert outcome.error == TimerRunError(code="ActionFailed", message="boom")


def test_run_id_falls_back_to_the_callback_answer() -> None:
    assert run_result(_result(status=201, data={"run_id": "r2"})).run_id == "r2"
    assert run_result(_result(status=201, data={"action_id": "a3"})).run_id == "a3"


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"results": "x"},
        {"results": {"data": [1]}},
        {"results": {"data": [], "page_next": 5}},
        {"results": [{"ran_at": "not a time"}]},
    ],
)
def test_malformed_job_documents_raise_response_parse_error(document: Any) -> None:
    with pytest.raises(ResponseParseError):
        parse_results(document, "t")


def test_timer_without_an_id_is_a_parse_error() -> None:
    with pytest.raises(ResponseParseError):
        timer_from_document({"name": "x"})


FLOW_ID = "2f9c3b1e-0d5e-4d1a-9b7a-5c1e2d3f4a5b"
TIMER_ID = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def test_create_flow_timer_request() -> None:
    request = rq.create_flow_timer(
        FLOW_ID,
        {"a": 1},
        name="n",
        schedule={"type": "recurring", "interval_seconds": 3600},
        tags=["t"],
    )
    assert (request.method, request.path, request.idempotent) == ("POST", "/v2/timer", False)
    assert request.body is not None
    assert json.loads(request.body) == {
        "timer": {
            "timer_type": "flow",
            "flow_id": FLOW_ID,
            "name": "n",
            "schedule": {"type": "recurring", "interval_seconds": 3600},
            "body": {"body": {"a": 1}, "tags": ["t"]},
        }
    }


def test_recurring_schedules_need_a_minute_at_least() -> None:
    with pytest.raises(InvalidRequestError, match="at least 60"):
        rq.create_flow_timer(FLOW_ID, {}, schedule={"type": "recurring", "interval_seconds": 30})


def test_resume_sends_update_credentials_in_query_and_body() -> None:
    request = rq.resume_timer(TIMER_ID, update_credentials=True)
    assert request.params == (("update_credentials", "true"),)
    assert request.body == b'{"update_credentials":true}'
    default = rq.resume_timer(TIMER_ID)
    assert default.params == (("update_credentials", "false"),)
    assert default.body == b'{"update_credentials":false}'
    unsaid = rq.resume_timer(TIMER_ID, update_credentials=None)
    assert (unsaid.params, unsaid.body) == ((), None)


def test_timer_page_request() -> None:
    request = rq.timer_page(TIMER_ID, page_size=10, marker="tok")
    assert (request.path, request.params) == (
        f"/jobs/{TIMER_ID}",
        (("page_size", "10"), ("results_pt", "tok")),
    )


def test_v1_job_names_start_interval_stop_after_scope_and_body(payloads: Payloads) -> None:
    document = payloads.json("timers_job_with_results")
    timer = timer_from_document(document)
    assert timer.start == datetime(2022, 4, 1, 19, 30, tzinfo=UTC)
    assert timer.interval == 864000.0
    assert timer.stop_after is None
    assert timer.scope is None
    assert timer.body == document["callback_body"]["body"]


def test_v2_flow_timer_reads_start_interval_and_stop_after_from_its_schedule() -> None:
    flow_start = {"body": {"x": 1}, "tags": ["t"]}
    timer = timer_from_document(
        {
            "job_id": TIMER_ID,
            "timer_type": "flow",
            "flow_id": "00000000-0000-1000-8000-0000000000f1",
            "schedule": {
                "type": "recurring",
                "interval_seconds": 3600,
                "start": "2026-01-01T00:00:00+00:00",
                "end": {"condition": "iterations", "count": 3},
            },
            "body": flow_start,
            "number_of_runs": 0,
            "number_of_errors": 0,
        }
    )
    assert timer.start == datetime(2026, 1, 1, tzinfo=UTC)
    assert timer.interval == 3600.0
    assert timer.stop_after == {"date": None, "n_runs": 3}
    assert timer.body == flow_start
    assert timer.scope is None


@pytest.mark.parametrize(
    ("schedule", "start", "interval", "stop_after"),
    [
        (
            {"type": "once", "datetime": "2026-01-01T00:00:00+00:00"},
            datetime(2026, 1, 1, tzinfo=UTC),
            None,
            {"date": None, "n_runs": 1},
        ),
        ({"type": "once"}, None, None, {"date": None, "n_runs": 1}),
        (
            {
                "type": "recurring",
                "interval_seconds": 60,
                "end": {"condition": "time", "datetime": "2026-02-01T00:00:00+00:00"},
            },
            None,
            60.0,
            {"date": "2026-02-01T00:00:00+00:00", "n_runs": None},
        ),
        ({"type": "recurring", "interval_seconds": 60}, None, 60.0, None),
    ],
)
def test_v2_schedules_give_start_interval_and_stop_after(
    schedule: dict[str, Any], start: datetime | None, interval: float | None, stop_after: Any
) -> None:
    timer = timer_from_document({"job_id": TIMER_ID, "schedule": schedule})
    assert (timer.start, timer.interval, timer.stop_after) == (start, interval, stop_after)


def test_v1_flow_timer_body_is_its_callback_body() -> None:
    callback_body = {"body": {"x": 1}, "run_managers": ["urn:m"]}
    timer = timer_from_document(
        {
            "job_id": TIMER_ID,
            "callback_url": "https://flows.automate.globus.org/flows/f1/run",
            "callback_body": callback_body,
            "scope": "https://auth.globus.org/scopes/f1/flow_f1_user",
        }
    )
    assert timer.timer_type == "flow"
    assert timer.body == callback_body
    assert timer.scope == "https://auth.globus.org/scopes/f1/flow_f1_user"


@pytest.mark.parametrize(
    ("field", "value"),
    [("start", "not a time"), ("interval", "10"), ("scope", 5), ("body", [1]), ("stop_after", 3)],
)
def test_a_timer_field_of_the_wrong_type_is_a_parse_error(field: str, value: Any) -> None:
    with pytest.raises(ResponseParseError, match="Timer"):
        timer_from_document({"job_id": TIMER_ID, field: value})


def test_a_result_names_when_it_ran_and_was_checked() -> None:
    [run], _ = parse_results(
        {
            "results": [
                {
                    "ran_at": "2026-01-01T00:00:00+00:00",
                    "start_timestamp": "2026-01-01T00:00:01+00:00",
                    "last_check_timestamp": "2026-01-01T00:01:00+00:00",
                    "next_check_timestamp": "2026-01-01T00:02:00+00:00",
                    "http_status_polled": 200,
                    "run_status": "ACTIVE",
                    "resource_id": "15jfdBESgveZQ",
                }
            ]
        },
        TIMER_ID,
    )
    assert run.id == "15jfdBESgveZQ"
    assert run.ran_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert run.start_time == datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert run.last_check_timestamp == datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    assert run.next_check_timestamp == datetime(2026, 1, 1, 0, 2, tzinfo=UTC)
    assert run.http_status_polled == 200


@pytest.mark.parametrize(
    "result",
    [
        {"ran_at": "yesterday"},
        {"next_check_timestamp": 5},
        {"last_check_timestamp": "soon"},
        {"http_status_polled": "200"},
        {"http_status_polled": True},
    ],
)
def test_a_result_field_of_the_wrong_type_is_a_parse_error(result: dict[str, Any]) -> None:
    with pytest.raises(ResponseParseError, match="timer result"):
        parse_results({"results": [result]}, TIMER_ID)


def test_resume_with_update_credentials_false_sends_false_in_query_and_body() -> None:
    request = rq.resume_timer(TIMER_ID, update_credentials=False)
    assert request.params == (("update_credentials", "false"),)
    assert request.body == b'{"update_credentials":false}'


def test_resume_refuses_update_credentials_that_is_not_a_bool() -> None:
    with pytest.raises(InvalidRequestError, match="update_credentials"):
        rq.resume_timer(TIMER_ID, update_credentials="yes")  # type: ignore[arg-type]


def test_list_timers_sends_order_submission_bounds_and_result_count() -> None:
    request = rq.list_timers(
        filter_status=["active", "inactive"],
        order="submitted_at desc",
        submitted_after=datetime(2026, 1, 1, tzinfo=UTC),
        submitted_before=datetime(2026, 2, 1, tzinfo=UTC),
        result_count=0,
    )
    assert (request.method, request.path) == ("GET", "/jobs/")
    assert request.params == (
        ("filter_status", "active,inactive"),
        ("submitted_after", "2026-01-01T00:00:00+00:00"),
        ("submitted_before", "2026-02-01T00:00:00+00:00"),
        ("order", "submitted_at desc"),
        ("result_count", "0"),
    )
    assert rq.list_timers().params == ()


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ({"submitted_after": datetime(2026, 1, 1)}, "submitted_after"),
        ({"submitted_before": "2026-01-01"}, "submitted_before"),
        ({"result_count": -1}, "result_count"),
        ({"result_count": True}, "result_count"),
        ({"order": ""}, "order"),
        ({"order": 3}, "order"),
    ],
)
def test_list_timers_refuses_bad_arguments(arguments: dict[str, Any], complaint: str) -> None:
    with pytest.raises(InvalidRequestError, match=complaint):
        rq.list_timers(**arguments)
