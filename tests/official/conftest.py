"""The emulator served on loopback and driven by the official ``globus-sdk``.

One server (``serve_in_thread``) for the whole session, on a manual clock; each
test gets an identity of its own (so it sees only its own runs and timers), a
token for it, and ``globus-sdk`` clients pointed at the server with ``base_url``.
The SDK is synchronous and these tests are plain sync tests: each SDK call
completes before the test touches the emulator's state or clock again.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import globus_sdk
import pytest

from globus_runs.testing import FakeClock, FakeGlobus, RecordedRequest, serve_in_thread

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def served() -> Iterator[tuple[FakeGlobus, dict[str, Any]]]:
    """The emulator, and the line announcing where it listens."""
    fake = FakeGlobus(clock=FakeClock(START))
    # requests would send loopback traffic to a proxy named in the environment.
    saved = os.environ.get("NO_PROXY")
    os.environ["NO_PROXY"] = ",".join(filter(None, [saved, "127.0.0.1", "localhost"]))
    try:
        with serve_in_thread(fake) as info:
            yield fake, info
    finally:
        if saved is None:
            del os.environ["NO_PROXY"]
        else:
            os.environ["NO_PROXY"] = saved


@pytest.fixture
def fake(served: tuple[FakeGlobus, dict[str, Any]]) -> FakeGlobus:
    """The served emulator, its request log emptied for this test."""
    served[0].clear_requests()
    return served[0]


@pytest.fixture
def info(served: tuple[FakeGlobus, dict[str, Any]]) -> dict[str, Any]:
    """Where the emulator listens: ``flows_url``, ``timers_url``, ``auth_url``..."""
    return served[1]


@pytest.fixture
def identity_id() -> str:
    """The identity of this test's caller, seen by nobody else."""
    return str(uuid.uuid4())


@pytest.fixture
def authorizer(fake: FakeGlobus, identity_id: str) -> globus_sdk.AccessTokenAuthorizer:
    """A token of ``identity_id``, valid for every resource server."""
    return globus_sdk.AccessTokenAuthorizer(fake.issue_token(identity_id=identity_id))


@pytest.fixture
def flows(
    info: dict[str, Any], authorizer: globus_sdk.AccessTokenAuthorizer
) -> Iterator[globus_sdk.FlowsClient]:
    """A ``globus_sdk.FlowsClient`` on the emulated Flows."""
    with globus_sdk.FlowsClient(authorizer=authorizer, base_url=info["flows_url"]) as client:
        yield client


@pytest.fixture
def timers(
    info: dict[str, Any], authorizer: globus_sdk.AccessTokenAuthorizer
) -> Iterator[globus_sdk.TimersClient]:
    """A ``globus_sdk.TimersClient`` on the emulated Timers."""
    with globus_sdk.TimersClient(authorizer=authorizer, base_url=info["timers_url"]) as client:
        yield client


@pytest.fixture
def specific_flow(
    info: dict[str, Any], authorizer: globus_sdk.AccessTokenAuthorizer
) -> Callable[[str], globus_sdk.SpecificFlowClient]:
    """A ``globus_sdk.SpecificFlowClient`` of a flow, on the emulated Flows."""

    def build(flow_id: str) -> globus_sdk.SpecificFlowClient:
        client = globus_sdk.SpecificFlowClient(flow_id, authorizer=authorizer)
        # SpecificFlowClient takes no base_url argument; its attribute is the one used.
        client.base_url = info["flows_url"]
        return client

    return build


@pytest.fixture
def flow_id(fake: FakeGlobus, identity_id: str) -> str:
    """A flow of ``identity_id`` whose runs succeed after 10 s, in two Action steps."""
    return fake.add_flow(title="Ten Seconds", duration=10.0, owner=identity_id)


def sent(fake: FakeGlobus, service: str) -> list[RecordedRequest]:
    """The requests ``service`` received during this test, in order."""
    return [request for request in fake.requests if request.service == service]
