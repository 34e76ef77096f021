"""How Timers' errors and malformed answers reach TimersClient's callers."""

from __future__ import annotations

from typing import Any

import pytest

from globus_runs import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ResponseParseError,
    RetryPolicy,
    ServerError,
    TimerNotFoundError,
    TimersClient,
    UnprocessableEntityError,
)
from globus_runs.testing import FakeGlobus
from tests.conftest import Payloads

from .conftest import EVERY_MINUTE, canned, timers_requests

pytestmark = pytest.mark.anyio

TIMERS_SCOPE = "https://auth.globus.org/scopes/524230d7-ea86-4a52-8312-86065a9e0417/timer"


async def test_a_validation_error_is_unprocessable_with_one_message_per_field(
    timers: TimersClient, flow_id: str
) -> None:
    schedule = {**EVERY_MINUTE, "end": {"condition": "time"}}

    with pytest.raises(UnprocessableEntityError) as info:
        await timers.create_flow_timer(flow_id, {}, schedule=schedule)

    assert info.value.http_status == 422
    assert info.value.messages == ["field required: body.timer.schedule.end.datetime"]
    assert info.value.message == "field required: body.timer.schedule.end.datetime"


async def test_an_unknown_flow_is_unprocessable(timers: TimersClient) -> None:
    missing = "00000000-0000-4000-8000-00000000dead"

    with pytest.raises(UnprocessableEntityError) as info:
        await timers.create_flow_timer(missing, {}, schedule=EVERY_MINUTE)

    assert info.value.messages == [f"no flow with id {missing} exists: body.timer.flow_id"]


async def test_the_production_validation_answer_gives_field_required_messages(
    payloads: Payloads,
) -> None:
    async with canned(422, payloads.json("timers_error_422")) as timers:
        with pytest.raises(UnprocessableEntityError) as info:
            await timers.get_timer("00000000-0000-1000-8000-000000000008")
    assert info.value.messages == [
        "field required: body.start",
        "field required: body.callback_url",
    ]
    assert info.value.message == "field required: body.start; field required: body.callback_url"


async def test_the_production_server_error_answer_is_a_server_error(payloads: Payloads) -> None:
    async with canned(500, payloads.json("timers_error_500")) as timers:
        with pytest.raises(ServerError) as info:
            await timers.list_timers()
    assert (info.value.http_status, info.value.code) == (500, "ERROR")
    assert info.value.message == "Request failed terribly"


async def test_a_short_interval_is_refused_before_sending(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    with pytest.raises(InvalidRequestError, match="at least 60"):
        await timers.create_flow_timer(
            flow_id, {}, schedule={"type": "recurring", "interval_seconds": 59}
        )
    assert timers_requests(fake) == []


@pytest.mark.parametrize("authorizer", [None, "not-a-token"])
async def test_a_missing_or_unknown_token_is_an_authentication_error(
    fake: FakeGlobus, authorizer: str | None
) -> None:
    async with fake.timers_client(authorizer=authorizer, retry=RetryPolicy.disabled()) as timers:
        with pytest.raises(AuthenticationError) as info:
            await timers.list_timers()
    assert (info.value.http_status, info.value.code) == (401, "AUTHENTICATION_ERROR")
    assert "not-a-token" not in str(info.value) + repr(info.value)


async def test_a_token_for_another_resource_server_is_permission_denied(
    fake: FakeGlobus,
) -> None:
    token = fake.issue_token(identity_id=fake.identity_id, resource_servers={"flows.globus.org"})
    async with fake.timers_client(authorizer=token, retry=RetryPolicy.disabled()) as timers:
        with pytest.raises(PermissionDeniedError) as info:
            await timers.list_timers()
    assert (info.value.http_status, info.value.code) == (403, "MISSING_SCOPE")
    assert info.value.message == f"This action requires the following scope: {TIMERS_SCOPE}"


async def test_someone_elses_timer_is_not_found(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    theirs = fake.add_timer(
        flow_id, {}, schedule=EVERY_MINUTE, owner="00000000-0000-4000-8000-0000000000aa"
    )

    with pytest.raises(TimerNotFoundError) as info:
        await timers.get_timer(theirs)
    assert isinstance(info.value, NotFoundError)
    with pytest.raises(TimerNotFoundError):
        await timers.pause_timer(theirs)
    assert fake.timers[theirs].paused is False


@pytest.mark.parametrize(
    ("operation", "document"),
    [
        ("get_timer", {"name": "no id"}),
        ("get_timer", ["not", "an", "object"]),
        ("list_runs", {"job_id": "t", "results": "not a list"}),
        ("list_runs", {"job_id": "t", "results": {"data": [], "page_next": 7}}),
        ("list_runs", {"job_id": "t", "results": [{"ran_at": "yesterday"}]}),
        ("list_timers", {"timers": []}),
        ("list_timers", {"jobs": [{"name": "no id"}]}),
        ("create_flow_timer", {"job_id": "t"}),
        ("update_timer", {"job_id": "t", "number_of_runs": "many"}),
    ],
)
async def test_a_malformed_answer_is_a_response_parse_error(operation: str, document: Any) -> None:
    timer_id, flow_id = (
        "00000000-0000-1000-8000-000000000008",
        "00000000-0000-1000-8000-0000000000f1",
    )
    async with canned(200, document) as timers:
        calls: dict[str, Any] = {
            "get_timer": lambda: timers.get_timer(timer_id),
            "list_runs": lambda: timers.list_runs(timer_id),
            "list_timers": lambda: timers.list_timers(),
            "create_flow_timer": lambda: timers.create_flow_timer(
                flow_id, {}, schedule={"type": "once"}
            ),
            "update_timer": lambda: timers.update_timer(timer_id, name="x"),
        }
        with pytest.raises(ResponseParseError):
            await calls[operation]()
