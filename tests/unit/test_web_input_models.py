"""Web inputs, inactive reasons and requirement errors parsed from production-shaped bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from globus_runs import (
    ConflictError,
    PermissionDeniedError,
    ResponseParseError,
    Run,
    RunInactiveError,
    WebInput,
    WebInputPage,
    group_by_consent,
    parse_inactive_reason,
)
from globus_runs._converter import structure
from globus_runs._wire import error_from_response
from globus_runs.flows import _web_inputs as wi

from ..conftest import Payloads

WEB_INPUT_ID = "4a9c0e2b-7d15-4e83-b6f0-2c8d1a5e9f37"
FLOW_ID = "6d2e9f3a-8b41-4c7e-a0d5-1f3b7c9e2a64"
SCOPE = f"https://auth.globus.org/scopes/{FLOW_ID}/flow_{FLOW_ID.replace('-', '_')}_user"


def test_a_web_input_document_becomes_a_web_input(payloads: Payloads) -> None:
    document = payloads.json("flows_web_input")
    web_input = structure(document, WebInput)
    assert web_input.id == WEB_INPUT_ID
    assert web_input.status == "open"
    assert web_input.is_open
    assert web_input.user_roles == ["viewer", "respondent"]
    assert web_input.input_type == "selection"
    assert web_input.input_schema == document["input_schema"]
    assert web_input.title == "Archive scan batch 42?"
    assert web_input.context.presentation_style == "text"
    assert web_input.context.text == "All 118 scans passed quality control."
    assert [o.label for o in web_input.options] == ["Approve", "Reject"]
    assert web_input.options[0].option_id == "0f8b2c6d-4e19-4a73-8d52-b6e1c9a03f74"
    assert web_input.roles.respondent_urns == [
        "urn:globus:auth:identity:e2b6c4a8-1f37-4d95-b0c2-7a8e3f1d6b49"
    ]
    assert web_input.flow is not None
    assert (web_input.flow.id, web_input.flow.title) == (FLOW_ID, "Beamline Archive")
    assert web_input.run is not None
    assert web_input.run.label == "batch 42"
    assert web_input.created_timestamp == datetime(2026, 5, 14, 8, 12, 44, 301224, tzinfo=UTC)
    assert web_input.closed_timestamp is None
    assert web_input.raw is document


def test_a_closed_web_input_with_a_table_context(payloads: Payloads) -> None:
    web_input = structure(payloads.json("flows_web_input_closed_table"), WebInput)
    assert not web_input.is_open
    assert not web_input.can_respond
    assert web_input.context.presentation_style == "table"
    assert web_input.context.rows[1] == {"field": "Beamline", "value": "8-ID-I"}
    assert web_input.closed_timestamp == datetime(2026, 5, 14, 9, 40, 2, 118530, tzinfo=UTC)


def test_a_page_of_web_inputs_keeps_its_marker(payloads: Payloads) -> None:
    page = structure(payloads.json("flows_web_inputs_page"), WebInputPage)
    assert [s.title for s in page.web_inputs] == [
        "Archive scan batch 42?",
        "Archive scan batch 43?",
    ]
    assert page.has_next_page
    assert page.marker == "eyJvZmZzZXQiOjJ9"


def test_a_last_page_without_has_next_page_and_a_null_marker_ends_the_listing(
    payloads: Payloads,
) -> None:
    page = structure(payloads.json("flows_web_inputs_last_page"), WebInputPage)
    assert len(page.web_inputs) == 1
    assert not page.has_next_page
    assert page.marker is None


def test_a_page_with_a_marker_but_no_has_next_page_has_more() -> None:
    page = structure({"web_input_summaries": [], "marker": "m1"}, WebInputPage)
    assert page.has_next_page


@pytest.mark.parametrize(
    "document",
    [
        {"marker": None},
        {"web_input_summaries": {}},
        {"web_input_summaries": [{"status": "open"}]},
        {"web_input_summaries": [], "has_next_page": "yes"},
    ],
)
def test_a_malformed_page_raises_response_parse_error(document: dict[str, Any]) -> None:
    with pytest.raises(ResponseParseError):
        structure(document, WebInputPage)


def test_a_run_blocked_on_a_web_input_names_it(payloads: Payloads) -> None:
    run = structure(payloads.json("flows_run_blocked_on_web_input"), Run)
    assert run.status == "ACTIVE"
    assert run.blocking_web_input_id == WEB_INPUT_ID
    assert run.inactive_reason is None


def test_an_inactive_run_needing_consent_has_a_parsed_reason(payloads: Payloads) -> None:
    run = structure(payloads.json("flows_run_inactive_consent"), Run)
    reason = run.inactive_reason
    assert reason is not None
    assert reason.code == "ConsentRequired"
    assert reason.description == "The run needs consent to continue."
    assert reason.required_scopes == (SCOPE,)
    assert reason.needs_consent
    params = reason.authorization_parameters
    assert params is not None
    assert params.session_message == "Consent is needed to continue the run."
    assert params.session_required_identities == ("e2b6c4a8-1f37-4d95-b0c2-7a8e3f1d6b49",)
    assert params.needs_session
    assert run.blocking_web_input_id is None


def test_an_older_run_names_its_scope_at_the_top_of_details(payloads: Payloads) -> None:
    run = structure(payloads.json("flows_run_inactive_legacy_consent"), Run)
    reason = run.inactive_reason
    assert reason is not None
    assert reason.code == "ConsentRequired"
    assert reason.required_scopes == (SCOPE,)
    assert reason.authorization_parameters is None


def test_parameters_one_level_down_in_details_are_found() -> None:
    reason = parse_inactive_reason(
        {
            "code": "ConsentRequired",
            "details": {
                "authorization_parameters": {"required_scopes": ["s"], "prompt": "login", "x": 1}
            },
        }
    )
    assert reason.required_scopes == ("s",)
    assert reason.authorization_parameters is not None
    assert reason.authorization_parameters.prompt == "login"
    assert reason.authorization_parameters.extra == {"x": 1}


@pytest.mark.parametrize("details", [None, "text", [], {"code": 5, "required_scopes": 7}])
def test_odd_details_give_a_reason_without_scopes(details: Any) -> None:
    reason = parse_inactive_reason(details)
    assert reason.required_scopes == ()
    assert not reason.needs_consent


def test_run_inactive_error_carries_the_reason(payloads: Payloads) -> None:
    run = structure(payloads.json("flows_run_inactive_consent"), Run)
    error = RunInactiveError(run)
    assert error.reason == run.inactive_reason
    assert str(error) == f"run {run.run_id} is INACTIVE (ConsentRequired)"


def test_a_policy_requirement_403_carries_the_authorization_parameters(
    payloads: Payloads,
) -> None:
    text = payloads.text("flows_web_input_respond_403_policy")
    error = error_from_response(403, text, method="POST", url="u")
    assert isinstance(error, PermissionDeniedError)
    assert error.code == "AUTHENTICATION_POLICY_REQUIRED"
    assert error.requirement_code == "AuthenticationPolicyRequired"
    assert error.request_id == "7f2c9a41-0e6b-4d38-b1a5-c3e8f9d02b67"
    params = error.authorization_parameters
    assert params is not None
    assert params.session_required_policies == ("2e7d9b14-c6a3-4f08-b9e5-7a1c3d6f8b02",)
    assert params.session_message == "Sign in again to answer this web input."
    assert error.web_input_summary is not None
    assert error.web_input_summary["id"] == WEB_INPUT_ID


def test_a_plain_403_has_no_authorization_parameters(payloads: Payloads) -> None:
    error = error_from_response(403, payloads.text("flows_web_input_respond_403"))
    assert isinstance(error, PermissionDeniedError)
    assert error.code == "FORBIDDEN"
    assert error.authorization_parameters is None
    assert error.requirement_code is None
    assert error.web_input_summary is None


def test_answering_a_closed_web_input_maps_to_conflict(payloads: Payloads) -> None:
    error = error_from_response(409, payloads.text("flows_web_input_respond_409"))
    assert isinstance(error, ConflictError)
    assert error.message == f"Web Input {WEB_INPUT_ID} is already closed."


def _inactive(run_id: str, scopes: list[str], **more: Any) -> Run:
    details = {
        "code": "ConsentRequired",
        "authorization_parameters": {"required_scopes": scopes, **more},
    }
    return structure(
        {"run_id": run_id, "flow_id": FLOW_ID, "status": "INACTIVE", "details": details}, Run
    )


def test_group_by_consent_groups_inactive_runs_by_scopes_and_session() -> None:
    runs = [
        _inactive("r1", ["a", "b"]),
        _inactive("r2", ["b", "a"]),
        _inactive("r3", ["a"]),
        structure({"run_id": "r4", "flow_id": FLOW_ID, "status": "ACTIVE"}, Run),
        _inactive("r5", ["a"], session_required_policies=["p"]),
    ]
    groups = group_by_consent(runs)
    assert [(g.required_scopes, g.session_required_policies, g.run_ids) for g in groups] == [
        (("a", "b"), (), ["r1", "r2"]),
        (("a",), (), ["r3"]),
        (("a",), ("p",), ["r5"]),
    ]


def test_list_web_inputs_request_sends_only_what_was_given() -> None:
    request = wi.list_web_inputs(filter_states=["open"], filter_run_ids=FLOW_ID)
    assert (request.method, request.path) == ("GET", "/web_inputs")
    assert request.params == (("filter_states", "open"), ("filter_run_ids", FLOW_ID))


def test_a_marker_request_sends_only_the_marker() -> None:
    request = wi.list_web_inputs(filter_states="open", marker="m2")
    assert request.params == (("marker", "m2"),)


def test_respond_request_wraps_the_value() -> None:
    request = wi.respond_to_web_input(WEB_INPUT_ID, {"choice": 1})
    assert (request.method, request.path) == ("POST", f"/web_inputs/{WEB_INPUT_ID}/respond")
    assert request.body == b'{"response":{"value":{"choice":1}}}'
