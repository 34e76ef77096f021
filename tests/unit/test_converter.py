"""Structuring service documents into models, strictly."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from globus_runs import (
    ResponseParseError,
    Run,
    RunDefinition,
    RunError,
    RunLogPage,
    RunPage,
    RunStatus,
)
from globus_runs._converter import structure
from tests.conftest import Payloads


def test_succeeded_run_payload(payloads: Payloads) -> None:
    document = payloads.json("flows_run_succeeded")
    run = structure(document, Run)
    assert run.run_id == "00000000-0000-1000-8000-000000000002"
    assert run.flow_id == "00000000-0000-1000-8000-000000000001"
    assert run.flow_title == "My Cool Flow"
    assert run.status == RunStatus.SUCCEEDED
    assert run.label == "My Cool Run"
    assert run.tags == ["cool", "my"]
    assert run.start_time == datetime(2023, 4, 11, 20, 1, 18, 40416, tzinfo=UTC)
    assert run.completion_time == datetime(2023, 4, 11, 20, 1, 22, 917000, tzinfo=UTC)
    assert run.run_owner == "urn:globus:auth:identity:00000000-0000-1000-8000-000000000003"
    assert run.run_monitors == ["urn:globus:groups:id:00000000-0000-1000-8000-000000000005"]
    assert run.user_role == "run_owner"
    assert run.is_terminal
    assert not run.was_canceled
    assert run.error is None
    assert run.raw == document
    assert run.raw["flow_last_updated"] == "2023-04-11T20:00:06.524930+00:00"


def test_canceled_run_payload_is_failed_and_was_canceled(payloads: Payloads) -> None:
    run = structure(payloads.json("flows_run_canceled"), Run)
    assert run.status == "FAILED"
    assert run.completion_time is None
    assert run.was_canceled
    assert run.error == RunError("FlowCanceled", "The Flow Instance was canceled by the user")


def test_unknown_status_and_extra_fields_still_parse() -> None:
    run = structure(
        {"run_id": "r", "flow_id": "f", "status": "PAUSED_BY_ADMIN", "new_field": {"x": 1}}, Run
    )
    assert run.status == "PAUSED_BY_ADMIN"
    assert not run.is_terminal
    assert run.raw["new_field"] == {"x": 1}


def test_legacy_action_id_names_the_run() -> None:
    run = structure({"action_id": "r1", "flow_id": "f", "status": "ACTIVE"}, Run)
    assert run.run_id == "r1"


def test_null_lists_become_empty_and_naive_times_are_utc() -> None:
    run = structure(
        {
            "run_id": "r",
            "flow_id": "f",
            "status": "ACTIVE",
            "tags": None,
            "start_time": "2024-01-01T00:00:00",
            "completion_time": None,
        },
        Run,
    )
    assert run.tags == []
    assert run.start_time == datetime(2024, 1, 1, tzinfo=UTC)
    assert run.completion_time is None


def test_error_of_a_failed_run() -> None:
    run = structure(
        {
            "run_id": "r",
            "flow_id": "f",
            "status": "FAILED",
            "details": {"code": "ActionFailedException", "description": "transfer failed"},
        },
        Run,
    )
    assert run.error == RunError("ActionFailedException", "transfer failed")
    assert not run.was_canceled


def test_run_log_page_payload(payloads: Payloads) -> None:
    page = structure(payloads.json("flows_run_log_page"), RunLogPage)
    assert page.has_next_page
    assert page.marker == "fake_run_logs_marker"
    assert page.limit == 10
    assert [entry.code for entry in page.entries] == ["FlowStarted", "PassStarted"]
    assert page.entries[1].details == {
        "state_name": "PassState",
        "state_type": "Pass",
        "input": {},
    }


def test_run_page_with_missing_marker(payloads: Payloads) -> None:
    run = payloads.json("flows_run_succeeded")
    page = structure({"runs": [run, run], "has_next_page": False}, RunPage)
    assert len(page.runs) == 2
    assert page.marker is None
    assert not page.has_next_page


def test_run_definition() -> None:
    definition = structure(
        {"flow_id": "f", "definition": {"StartAt": "A"}, "input_schema": {}}, RunDefinition
    )
    assert definition.definition == {"StartAt": "A"}


@pytest.mark.parametrize(
    "document",
    [
        [],
        "run",
        None,
        {"flow_id": "f", "status": "ACTIVE"},
        {"run_id": 5, "flow_id": "f", "status": "ACTIVE"},
        {"run_id": "r", "flow_id": "f", "status": "ACTIVE", "tags": "ab"},
        {"run_id": "r", "flow_id": "f", "status": "ACTIVE", "tags": [1]},
        {"run_id": "r", "flow_id": "f", "status": "ACTIVE", "start_time": "yesterday"},
        {"run_id": "r", "flow_id": "f", "status": "ACTIVE", "start_time": 17},
        {"run_id": "r", "flow_id": "f", "status": "ACTIVE", "details": [1]},
        {"run_id": "r", "flow_id": "f", "status": True},
    ],
)
def test_malformed_run_documents_raise_response_parse_error(document: Any) -> None:
    with pytest.raises(ResponseParseError, match="unexpected Run document"):
        structure(document, Run, text="<body>")


@pytest.mark.parametrize(
    "document",
    [
        {"runs": "abc"},
        {"runs": [{"run_id": "r"}]},
        {"runs": [], "has_next_page": "yes"},
        {"runs": [], "marker": 5},
        {"has_next_page": False},
    ],
)
def test_malformed_pages_raise_response_parse_error(document: Any) -> None:
    with pytest.raises(ResponseParseError) as info:
        structure(document, RunPage, text="the body")
    assert info.value.text == "the body"
