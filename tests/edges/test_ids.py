"""Ids that are not UUIDs and base URLs that cannot be sent to are refused before any request."""

from __future__ import annotations

import pytest

from globus_runs import (
    ConfigurationError,
    FlowsClient,
    InvalidIdError,
    RunRequest,
    TimersClient,
)
from globus_runs.testing import FakeGlobus

pytestmark = pytest.mark.anyio

NOT_UUIDS = [
    ".",
    "..",
    "not-a-uuid",
    "\ud800",
    "36ad9f9a-ad29-488f-beb4-c22ab729643\ud800",
    "36ad9f9a-ad29-488f-beb4-c22ab729643a/cancel",
    "36ad9f9aad29488fbeb4c22ab729643a",
]
A_UUID = "36ad9f9a-ad29-488f-beb4-c22ab729643a"


@pytest.fixture
def fake() -> FakeGlobus:
    return FakeGlobus()


@pytest.mark.parametrize("bad", NOT_UUIDS)
async def test_run_operations_refuse_a_run_id_that_is_not_a_uuid(
    fake: FakeGlobus, bad: str
) -> None:
    async with fake.flows_client() as flows:
        for call in (
            flows.get_run,
            flows.cancel_run,
            flows.release_run,
            flows.get_run_logs,
            flows.get_run_definition,
            flows.wait_for_run,
        ):
            with pytest.raises(InvalidIdError, match=r"run_id .* is not a valid id"):
                await call(bad)
        with pytest.raises(InvalidIdError):
            flows.watch_run(bad)
        with pytest.raises(InvalidIdError):
            await flows.wait_for_runs([A_UUID, bad])
    assert fake.requests == []


@pytest.mark.parametrize("bad", NOT_UUIDS)
async def test_starting_a_run_refuses_a_flow_id_that_is_not_a_uuid(
    fake: FakeGlobus, bad: str
) -> None:
    async with fake.flows_client() as flows:
        with pytest.raises(InvalidIdError, match=r"flow_id .* is not a valid id"):
            await flows.run_flow(bad, {})
        with pytest.raises(InvalidIdError, match="flow_id"):
            await flows.validate_run(bad, {})
        with pytest.raises(InvalidIdError, match="flow_id"):
            await flows.resume_run(A_UUID, flow_id=bad)
    assert fake.requests == []


async def test_a_batch_item_with_a_bad_id_fails_alone_without_a_request(fake: FakeGlobus) -> None:
    flow_id = fake.add_flow()
    async with fake.flows_client() as flows:
        results = await flows.batch_run_flows([RunRequest(".", {}), RunRequest(flow_id, {})])
    assert isinstance(results[0].error, InvalidIdError)
    assert results[1].ok
    assert [(r.method, r.path) for r in fake.requests] == [
        ("POST", f"/flows/{flow_id}/run"),
    ]


@pytest.mark.parametrize("bad", NOT_UUIDS)
async def test_timer_operations_refuse_ids_that_are_not_uuids(fake: FakeGlobus, bad: str) -> None:
    async with fake.timers_client() as timers:
        for call in (timers.get_timer, timers.run_timer, timers.pause_timer, timers.delete_timer):
            with pytest.raises(InvalidIdError, match=r"timer_id .* is not a valid id"):
                await call(bad)
        # A timer's run id is whatever the service gives (never sent): only the timer's is checked.
        with pytest.raises(InvalidIdError, match=r"timer_id .* is not a valid id"):
            await timers.get_run(bad, "15jfdBESgveZQ")
        with pytest.raises(InvalidIdError, match="flow_id"):
            await timers.create_flow_timer(bad, {}, schedule={"type": "once"})
    assert fake.requests == []


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://127.0.0.1:99999/flows/", "Port out of range"),
        ("http://127.0.0.1:abc/flows/", "Port could not be cast"),
        ("http://127.0.0.1:-1/flows/", "Port could not be cast"),
        ("http://127.0.0.1:0/flows/", "has port 0"),
        ("https://exa mple.org/", "invalid character ' '"),
        ("https://example.org/fl ows/", "invalid character ' '"),
        ("http://127.0.0.1:8000/fl\nows/", "invalid character '\\\\n'"),
        ("https://example.org/\ud800", "invalid character '\\\\ud800'"),
        ("https://[::1/", "Invalid IPv6 URL"),
        ("https://ex!ample.org/", "invalid host 'ex!ample.org'"),
        ("https://ex%41mple.org/", "invalid host 'ex%41mple.org'"),
    ],
)
def test_a_base_url_that_cannot_be_sent_to_is_refused_at_construction(
    url: str, complaint: str
) -> None:
    with pytest.raises(ConfigurationError, match=complaint):
        FlowsClient(base_url=url)
    with pytest.raises(ConfigurationError, match=complaint):
        TimersClient(base_url=url)
    with pytest.raises(ConfigurationError, match=complaint):
        TimersClient(base_url="http://127.0.0.1:8000/timers/", flows_base_url=url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/flows/",
        "http://[::1]:8000/flows/",
        "http://localhost/flows",
        "https://flows.automate.globus.org",
        "https://sandbox.flows.automate.globus.org/",
    ],
)
def test_usable_base_urls_are_kept_without_the_trailing_slash(url: str) -> None:
    assert FlowsClient(base_url=url).base_url == url.rstrip("/")
