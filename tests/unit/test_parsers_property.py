"""Every response parser, fed arbitrary JSON: it returns its model or raises a typed error.

Inputs are random JSON values and the production payloads of ``tests/payloads`` with keys
dropped and values replaced. Nothing but a :class:`GlobusRunsError` may escape a parser, and
``error_from_response`` must always return an :class:`APIError`. Hypothesis runs
deterministically (``derandomize``) and a bounded number of examples, so CI is stable.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from globus_runs import (
    APIError,
    GlobusRunsError,
    ResponseParseError,
    Run,
    RunDefinition,
    RunLogEntry,
    RunLogPage,
    RunPage,
    ServerError,
    Timer,
    TimerRun,
)
from globus_runs import _json as json_codec
from globus_runs._converter import structure
from globus_runs._http.attempts import Response
from globus_runs._oauth import TokenResponse, parse_token_response
from globus_runs._wire import error_from_response
from globus_runs.timers._parse import parse_results, timer_from_document
from tests.conftest import PAYLOADS

T = TypeVar("T")

BOUNDED = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _payload(name: str) -> Any:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


# -- strategies ---------------------------------------------------------------------------

_EDGE_NUMBERS = st.sampled_from([0, -1, 2**63, 2**64, 10**400, float("inf"), float("nan"), -0.0])
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | _EDGE_NUMBERS
    | st.text(max_size=30)
    | st.sampled_from(["", "2023-04-11T20:01:22.917000+00:00", "2023-13-45", "FAILED", "null"])
)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=24,
)

Path = tuple[str | int, ...]


def _paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every place in a JSON document, the root included."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def _at(document: Any, path: Path) -> Any:
    for step in path:
        document = document[step]
    return document


@st.composite
def mutated(draw: st.DrawFn, document: Any) -> Any:
    """``document`` with one to four places dropped, nulled, replaced or wrapped."""
    document = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(list(_paths(document))))
        action = draw(st.sampled_from(["drop", "null", "replace", "wrap"]))
        if not path:
            if action in ("replace", "drop"):
                document = draw(JSON_VALUES)
            continue
        parent, key = _at(document, path[:-1]), path[-1]
        if action == "drop":
            del parent[key]
        elif action == "null":
            parent[key] = None
        elif action == "replace":
            parent[key] = draw(JSON_VALUES)
        else:
            parent[key] = [parent[key]]
    return document


def documents(*payloads: Any) -> st.SearchStrategy[Any]:
    """Random JSON, or one of ``payloads`` mutated."""
    return JSON_VALUES | st.sampled_from(payloads).flatmap(mutated)


def _parsed_or_typed_error(parse: Callable[[], T], expected: type) -> T | None:
    """Call ``parse``; a non-GlobusRunsError fails the test, a typed one gives ``None``."""
    try:
        value = parse()
    except GlobusRunsError:
        return None
    assert isinstance(value, expected)
    return value


RUN = _payload("flows_run_succeeded")
CANCELED_RUN = _payload("flows_run_canceled")
LOG_PAGE = _payload("flows_run_log_page")
JOB = _payload("timers_job_with_results")
CREATED_TIMER = _payload("timers_create_flow_timer_201")
RUN_PAGE = {"runs": [RUN, CANCELED_RUN], "has_next_page": True, "marker": "m", "limit": 2}
DEFINITION = {
    "flow_id": RUN["flow_id"],
    "definition": {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}},
    "input_schema": {"type": "object", "properties": {}},
}
TOKEN_ANSWER = {
    "access_token": "access-token-value",
    "expires_in": 172800,
    "resource_server": "flows.globus.org",
    "scope": "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/all",
    "token_type": "Bearer",
    "refresh_token": "refresh-token-value",
    "other_tokens": [
        {
            "access_token": "timer-token-value",
            "expires_in": 172800,
            "resource_server": "524230d7-ea86-4a52-8312-86065a9e0417",
            "scope": "https://auth.globus.org/scopes/524230d7-ea86-4a52-8312-86065a9e0417/timer",
            "token_type": "Bearer",
        }
    ],
}
ERROR_BODIES = [
    _payload(name)
    for name in (
        "flows_error_400",
        "flows_error_401",
        "flows_error_403",
        "flows_error_409",
        "timers_error_422",
        "timers_error_500",
    )
]


# -- Flows models -------------------------------------------------------------------------


@BOUNDED
@given(documents(RUN, CANCELED_RUN))
def test_run_parses_or_raises_a_typed_error(document: Any) -> None:
    run = _parsed_or_typed_error(lambda: structure(document, Run), Run)
    if run is not None:
        assert run.is_terminal or not run.was_canceled
        assert run.error is None or isinstance(run.error.code, str)


@BOUNDED
@given(documents(RUN_PAGE))
def test_run_page_parses_or_raises_a_typed_error(document: Any) -> None:
    page = _parsed_or_typed_error(lambda: structure(document, RunPage), RunPage)
    if page is not None:
        assert all(isinstance(run, Run) for run in page.runs)


@BOUNDED
@given(documents(*LOG_PAGE["entries"]))
def test_run_log_entry_parses_or_raises_a_typed_error(document: Any) -> None:
    _parsed_or_typed_error(lambda: structure(document, RunLogEntry), RunLogEntry)


@BOUNDED
@given(documents(LOG_PAGE))
def test_run_log_page_parses_or_raises_a_typed_error(document: Any) -> None:
    page = _parsed_or_typed_error(lambda: structure(document, RunLogPage), RunLogPage)
    if page is not None:
        assert all(isinstance(entry, RunLogEntry) for entry in page.entries)


@BOUNDED
@given(documents(DEFINITION))
def test_run_definition_parses_or_raises_a_typed_error(document: Any) -> None:
    _parsed_or_typed_error(lambda: structure(document, RunDefinition), RunDefinition)


# -- Timers documents ---------------------------------------------------------------------


@BOUNDED
@given(documents(JOB, CREATED_TIMER["timer"]))
def test_timer_document_parses_or_raises_a_typed_error(document: Any) -> None:
    _parsed_or_typed_error(lambda: timer_from_document(document), Timer)


@BOUNDED
@given(documents(JOB, CREATED_TIMER["timer"]))
def test_timer_results_parse_or_raise_a_typed_error(document: Any) -> None:
    parsed = _parsed_or_typed_error(lambda: parse_results(document, "timer-id"), tuple)
    if parsed is not None:
        runs, page_next = parsed
        assert all(isinstance(run, TimerRun) for run in runs)
        assert page_next is None or isinstance(page_next, str)


# -- Globus Auth ---------------------------------------------------------------------------


@BOUNDED
@given(documents(TOKEN_ANSWER))
def test_token_answer_parses_or_raises_a_typed_error(document: Any) -> None:
    answer = _parsed_or_typed_error(lambda: parse_token_response(document, 1000.0), TokenResponse)
    if answer is not None:
        for token in answer.tokens.values():
            assert token.renew_at <= token.expires_at


@BOUNDED
@given(JSON_VALUES)
def test_any_token_lifetime_parses_or_raises_a_typed_error(expires_in: Any) -> None:
    document = {**TOKEN_ANSWER, "expires_in": expires_in}
    answer = _parsed_or_typed_error(lambda: parse_token_response(document, 0.0), TokenResponse)
    if answer is not None:
        assert all(math.isfinite(token.renew_at) for token in answer.tokens.values())


# -- error answers and raw bodies ----------------------------------------------------------


@BOUNDED
@given(st.integers(400, 599), st.text() | documents(*ERROR_BODIES).map(json.dumps))
def test_any_error_answer_becomes_an_api_error(status: int, text: str) -> None:
    error = error_from_response(status, text, method="GET", url="https://x.test/runs")
    assert isinstance(error, APIError)
    assert error.http_status == status
    assert isinstance(error, ServerError) == (status >= 500)
    assert str(error)
    assert repr(error)


@BOUNDED
@given(st.integers(400, 599), st.text(max_size=40))
def test_any_retry_after_header_still_gives_an_api_error(status: int, header: str) -> None:
    error = error_from_response(status, "", headers={"retry-after": header})
    assert error.retry_after is None or error.retry_after >= 0.0


@BOUNDED
@given(st.binary() | documents(RUN).map(lambda d: json.dumps(d).encode()))
def test_any_answer_body_decodes_or_raises_response_parse_error(body: bytes) -> None:
    response = Response(200, body, "GET", "https://x.test/runs/r")
    error: ResponseParseError | None = None
    try:
        response.json()
    except ResponseParseError as caught:
        error = caught
    assert error is None or error.text == body.decode("utf-8", "replace")


@BOUNDED
@given(documents(RUN).map(lambda d: json.dumps(d).encode()), st.integers(0, 10_000))
def test_a_truncated_answer_decodes_or_raises_response_parse_error(body: bytes, cut: int) -> None:
    response = Response(200, body[: cut % (len(body) + 1)], "GET", "https://x.test/runs/r")
    _parsed_or_typed_error(response.json, object)


# -- regressions found by the properties above ----------------------------------------------

DEEP = 1500  # deeper than the interpreter's recursion limit allows printing


def _deep_list(depth: int) -> Any:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def test_a_deeply_nested_validation_error_still_becomes_an_api_error() -> None:
    text = '{"detail": [' + "[" * 1000 + "]" * 1000 + "]}"
    error = error_from_response(422, text)
    assert (type(error).__name__, error.http_status) == ("UnprocessableEntityError", 422)
    assert error.message.startswith('{"detail"')


def test_a_deeply_nested_timer_result_error_still_parses() -> None:
    [run], _ = parse_results({"results": [{"errors": [_deep_list(DEEP)]}]}, "timer-id")
    assert run.status == "failure"
    assert run.result.error is not None
    assert run.result.error.message == "list"


@pytest.mark.parametrize(
    "expires_in", [10**400, float("inf"), float("nan")], ids=["huge", "inf", "nan"]
)
def test_a_token_answer_without_a_finite_lifetime_is_a_parse_error(expires_in: object) -> None:
    with pytest.raises(ResponseParseError):
        parse_token_response({**TOKEN_ANSWER, "expires_in": expires_in}, 0.0)


def test_the_standard_library_decoder_refuses_deep_nesting_with_a_value_error() -> None:
    with pytest.raises(ValueError, match="nested"):
        json_codec._std_loads("[" * 100_000 + "]" * 100_000)
