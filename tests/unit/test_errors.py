"""Mapping non-2xx answers to the error tree, whatever their bodies hold."""

from __future__ import annotations

import pytest

from globus_runs import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    FlowNotFoundError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RunNotFoundError,
    ServerError,
    UnprocessableEntityError,
    is_run_not_found_error,
)
from globus_runs._wire import error_from_response
from tests.conftest import Payloads


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (418, APIError),
    ],
)
def test_status_chooses_the_error_class(status: int, cls: type[APIError]) -> None:
    error = error_from_response(status, '{"error": {"code": "X", "detail": "d"}}')
    assert type(error) is cls
    assert (error.http_status, error.code, error.message) == (status, "X", "d")


def test_flow_input_error_keeps_every_validation_message(payloads: Payloads) -> None:
    error = error_from_response(
        400, payloads.text("flows_error_400"), method="POST", url="https://f/flows/x/run"
    )
    assert isinstance(error, BadRequestError)
    assert error.code == "FLOW_INPUT_ERROR"
    assert error.messages == [
        "Input failed schema validation with 1 error.",
        "'not-a-boolean' is not of type 'boolean': $.bool",
    ]
    assert error.request_id == "00000000-2572-411b-9fa9-c72fbed2b0bb"
    assert str(error) == (
        "POST https://f/flows/x/run: 400 FLOW_INPUT_ERROR: Input failed schema validation with "
        "1 error.; 'not-a-boolean' is not of type 'boolean': $.bool "
        "(request_id=00000000-2572-411b-9fa9-c72fbed2b0bb)"
    )


def test_debug_id_becomes_request_id(payloads: Payloads) -> None:
    error = error_from_response(401, payloads.text("flows_error_401"))
    assert isinstance(error, AuthenticationError)
    assert error.code == "AUTHENTICATION_ERROR"
    assert error.message == "Expired or invalid Bearer token"
    assert error.request_id == "00000000-1ca9-477d-9937-a26c9d9384b9"


def test_error_without_debug_id(payloads: Payloads) -> None:
    error = error_from_response(403, payloads.text("flows_error_403"))
    assert isinstance(error, PermissionDeniedError)
    assert (error.code, error.request_id) == ("MISSING_SCOPE", None)
    assert "frobulate[demuddle]" in error.message


def test_state_conflict(payloads: Payloads) -> None:
    error = error_from_response(409, payloads.text("flows_error_409"))
    assert isinstance(error, ConflictError)
    assert error.code == "STATE_CONFLICT"
    assert error.request_id == "80d920b6-66cf-4254-bcbd-7d3efe814e1a"


def test_timers_fastapi_validation_answer(payloads: Payloads) -> None:
    error = error_from_response(422, payloads.text("timers_error_422"))
    assert isinstance(error, UnprocessableEntityError)
    assert error.code == "VALIDATION_ERROR"
    assert error.messages == ["field required: body.start", "field required: body.callback_url"]


def test_timers_custom_error(payloads: Payloads) -> None:
    error = error_from_response(500, payloads.text("timers_error_500"))
    assert isinstance(error, ServerError)
    assert (error.code, error.message) == ("ERROR", "Request failed terribly")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
            "502 Bad Gateway nginx",
        ),
        ("", "HTTP 502"),
        ('{"error": {"code": "X", "det', '{"error": {"code": "X", "det'),
        ("[1, 2]", "[1, 2]"),
        ('"just a string"', '"just a string"'),
    ],
)
def test_non_json_or_odd_bodies_still_become_clean_errors(body: str, message: str) -> None:
    error = error_from_response(502, body)
    assert isinstance(error, ServerError)
    assert error.code == "SERVER_ERROR"
    assert error.message == message
    assert error.body == body


def test_404_class_is_chosen_by_the_operation() -> None:
    body = '{"error": {"code": "NOT_FOUND", "detail": "nope"}, "debug_id": "d"}'
    run_missing = error_from_response(404, body, not_found=RunNotFoundError)
    flow_missing = error_from_response(404, body, not_found=FlowNotFoundError)
    assert isinstance(run_missing, RunNotFoundError)
    assert is_run_not_found_error(run_missing)
    assert isinstance(flow_missing, FlowNotFoundError)
    assert not is_run_not_found_error(flow_missing)


def test_retry_after_header_is_kept() -> None:
    error = error_from_response(429, "", headers={"retry-after": "12"})
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 12.0


def test_repr_shows_status_and_code_but_not_the_body() -> None:
    error = error_from_response(400, '{"error": {"code": "C", "detail": "d"}, "debug_id": "r"}')
    assert repr(error) == (
        "BadRequestError(http_status=400, code='C', message='d', request_id='r', method='', url='')"
    )
