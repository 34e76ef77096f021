"""What each Flows operation sends, built without I/O."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from globus_runs import FlowNotFoundError, InvalidIdError, InvalidRequestError, RunNotFoundError
from globus_runs.flows import _requests as rq

FLOW = "24bc4997-b483-4c25-a19c-64b0afc00743"
RUN = "36ad9f9a-ad29-488f-beb4-c22ab729643a"


def test_run_flow_request() -> None:
    request = rq.run_flow(
        FLOW,
        {"x": 1},
        label="L",
        tags=("a", "b"),
        run_managers=["urn:m"],
        activity_notification_policy=["INACTIVE", "FAILED"],
        additional_fields={"extra": True},
    )
    assert (request.method, request.path) == ("POST", f"/flows/{FLOW}/run")
    assert request.resource_server == FLOW
    assert request.not_found is FlowNotFoundError
    assert request.idempotent is False
    assert request.body is not None
    assert json.loads(request.body) == {
        "body": {"x": 1},
        "label": "L",
        "tags": ["a", "b"],
        "run_managers": ["urn:m"],
        "activity_notification_policy": {"status": ["INACTIVE", "FAILED"]},
        "extra": True,
    }


def test_run_flow_sends_only_the_body_when_nothing_else_is_given() -> None:
    request = rq.run_flow(FLOW, {})
    assert request.body == b'{"body":{}}'


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"body": [1]}, "body must be a mapping"),
        ({"body": {}, "tags": "abc"}, "tags must be a sequence of str"),
        ({"body": {}, "activity_notification_policy": {"status": ["DONE"]}}, "statuses"),
        ({"body": {}, "label": 5}, "label must be a str"),
    ],
)
def test_run_flow_refuses_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        rq.run_flow(FLOW, **kwargs)  # type: ignore[arg-type]


def test_run_flow_refuses_a_bad_flow_id() -> None:
    with pytest.raises(InvalidIdError):
        rq.run_flow("../admin", {})


def test_list_runs_query() -> None:
    request = rq.list_runs(
        filter_flow_id=[FLOW, "f2"],
        filter_status="ACTIVE",
        filter_roles=("run_owner", "run_manager"),
        filter_start_time=(datetime(2026, 1, 1, tzinfo=UTC), None),
        orderby=["start_time DESC", "label ASC"],
        per_page=50,
    )
    assert (request.method, request.path, request.resource_server) == (
        "GET",
        "/runs",
        "flows.globus.org",
    )
    assert request.params == (
        ("filter_flow_id", f"{FLOW},f2"),
        ("filter_status", "ACTIVE"),
        ("filter_roles", "run_owner,run_manager"),
        ("filter_start_time", "2026-01-01T00:00:00+00:00,"),
        ("orderby", "start_time DESC,label ASC"),
        ("per_page", "50"),
    )
    assert request.body is None


def test_list_runs_with_a_marker_sends_only_the_marker() -> None:
    request = rq.list_runs(filter_status="ACTIVE", per_page=10, marker="m1")
    assert request.params == (("marker", "m1"),)


@pytest.mark.parametrize("per_page", [0, -1, True, "10", 1.5])
def test_per_page_that_is_not_a_positive_int_is_refused(per_page: int) -> None:
    with pytest.raises(InvalidRequestError, match="per_page must be a positive int"):
        rq.list_runs(per_page=per_page)


@pytest.mark.parametrize("per_page", [1, 51, 1000])
def test_per_page_has_no_client_side_maximum(per_page: int) -> None:
    assert rq.list_runs(per_page=per_page).params == (("per_page", str(per_page)),)


def test_get_run_request() -> None:
    assert rq.get_run(RUN).params == ()
    request = rq.get_run(RUN, include_flow_description=True)
    assert request.path == f"/runs/{RUN}"
    assert request.params == (("include_flow_description", "true"),)
    assert request.not_found is RunNotFoundError


def test_update_run_sends_only_given_fields_and_empty_lists_clear() -> None:
    request = rq.update_run(RUN, tags=[], label="new")
    assert (request.method, request.path) == ("PUT", f"/runs/{RUN}")
    assert request.body is not None
    assert json.loads(request.body) == {"label": "new", "tags": []}


def test_run_actions() -> None:
    assert (rq.cancel_run(RUN).method, rq.cancel_run(RUN).path) == ("POST", f"/runs/{RUN}/cancel")
    assert rq.release_run(RUN).path == f"/runs/{RUN}/release"
    resume = rq.resume_run(RUN, FLOW)
    assert (resume.path, resume.resource_server) == (f"/runs/{RUN}/resume", FLOW)
    assert rq.get_run_definition(RUN).path == f"/runs/{RUN}/definition"


def test_run_log_requests() -> None:
    assert rq.get_run_logs(RUN).params == (("limit", "10"),)
    assert rq.get_run_logs(RUN, limit=100, reverse_order=True).params == (
        ("limit", "100"),
        ("reverse_order", "true"),
    )
    follow_up = rq.get_run_logs(RUN, limit=100, marker="m", reverse_order=True)
    assert follow_up.params == (("marker", "m"),)
    assert follow_up.not_found is RunNotFoundError
    with pytest.raises(InvalidRequestError, match="limit"):
        rq.get_run_logs(RUN, limit=101)
