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
    plain = rq.resume_timer(TIMER_ID)
    assert (plain.params, plain.body) == ((), None)


def test_timer_page_request() -> None:
    request = rq.timer_page(TIMER_ID, page_size=10, marker="tok")
    assert (request.path, request.params) == (
        f"/jobs/{TIMER_ID}",
        (("page_size", "10"), ("results_pt", "tok")),
    )
