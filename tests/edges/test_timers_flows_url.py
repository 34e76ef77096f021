"""A Timers client given its own URL never sends run_timer's start to production Flows."""

from __future__ import annotations

import httpx
import pytest

from globus_runs import ConfigurationError, RetryPolicy, TimersClient
from globus_runs.testing import FakeGlobus, asgi_transport

pytestmark = pytest.mark.anyio

LATER = {"type": "once", "datetime": "2026-03-02T00:00:00+00:00"}
TIMER_ID = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


async def a_timer(fake: FakeGlobus) -> tuple[str, str]:
    flow_id = fake.add_flow()
    async with fake.timers_client() as timers:
        timer = await timers.create_flow_timer(flow_id, {"n": 1}, schedule=LATER)
    fake.clear_requests()
    return flow_id, timer.timer_id


async def test_the_emulators_timers_url_alone_starts_the_run_on_the_emulators_flows() -> None:
    fake = FakeGlobus()
    flow_id, timer_id = await a_timer(fake)
    async with TimersClient(
        authorizer=fake.token,
        base_url=fake.timers_url,
        transport=asgi_transport(fake.app),
        retry=RetryPolicy.disabled(),
    ) as timers:
        run = await timers.run_timer(timer_id)
        assert timers.flows.base_url == fake.flows_url.rstrip("/")
    assert [(r.service, r.method, r.path) for r in fake.requests] == [
        ("timers", "GET", f"/jobs/{timer_id}"),
        ("flows", "POST", f"/flows/{flow_id}/run"),
    ]
    assert run.id in fake.runs


@pytest.mark.parametrize(
    "base_url",
    ["https://timers.example.org", "https://timers.example.org/timers", "http://127.0.0.1:9/api"],
)
async def test_another_timers_url_alone_makes_run_timer_a_configuration_error(
    base_url: str,
) -> None:
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    async with TimersClient(
        authorizer="secret-token", base_url=base_url, transport=httpx.MockTransport(record)
    ) as timers:
        with pytest.raises(ConfigurationError) as info:
            await timers.run_timer(TIMER_ID)
        with pytest.raises(ConfigurationError):
            timers.flows  # noqa: B018 - the property is what is under test
    assert str(info.value) == (
        f"TimersClient(base_url={base_url!r}) cannot tell where Flows is for run_timer: "
        "pass flows_base_url= (the Flows URL of that service) or flows= (a FlowsClient)"
    )
    assert sent == []


@pytest.mark.parametrize(
    ("base_url", "flows_url"),
    [
        ("https://timer.automate.globus.org", "https://flows.automate.globus.org"),
        ("https://sandbox.timer.automate.globus.org/", "https://sandbox.flows.automate.globus.org"),
        ("http://localhost:8000/timers/", "http://localhost:8000/flows"),
    ],
)
def test_a_timers_url_with_a_certain_flows_twin_derives_it(base_url: str, flows_url: str) -> None:
    assert TimersClient(base_url=base_url).flows.base_url == flows_url


def test_flows_base_url_or_flows_given_is_used_as_is() -> None:
    timers = TimersClient(
        base_url="https://timers.example.org", flows_base_url="https://flows.example.org/"
    )
    assert timers.flows.base_url == "https://flows.example.org"


def test_without_base_url_the_environments_flows_is_used() -> None:
    assert TimersClient().flows.base_url == "https://flows.automate.globus.org"
    assert TimersClient(environment="sandbox").flows.base_url == (
        "https://sandbox.flows.automate.globus.org"
    )
