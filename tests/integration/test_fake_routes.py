"""The ``fake`` fixture's routes: a loopback client goes over a socket to the test's emulator."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import pytest
from starlette.types import Receive, Scope, Send

from globus_runs import RunNotFoundError
from globus_runs.testing import FakeGlobus

pytestmark = pytest.mark.anyio

MISSING = "00000000-0000-4000-8000-000000000404"


async def test_a_client_reaches_the_tests_own_emulator_at_its_urls(fake: FakeGlobus) -> None:
    flow_id = fake.add_flow()
    async with fake.flows_client() as flows:
        run = await flows.run_flow(flow_id, {})
    assert list(fake.runs) == [run.run_id]
    assert fake.requests[0].headers["host"] == urlsplit(fake.flows_url).netloc


async def test_over_loopback_the_emulator_answers_on_the_server_thread(
    fake: FakeGlobus, fake_globus_route: str
) -> None:
    handled_on: list[int] = []

    async def front(scope: Scope, receive: Receive, send: Send) -> None:
        handled_on.append(threading.get_ident())
        await fake.app(scope, receive, send)

    async with fake.flows_client(app=front) as flows:
        with pytest.raises(RunNotFoundError):
            await flows.get_run(MISSING)
    assert [request.path for request in fake.requests] == [f"/runs/{MISSING}"]
    on_this_thread = handled_on == [threading.get_ident()]
    assert on_this_thread is (fake_globus_route == "inprocess")
