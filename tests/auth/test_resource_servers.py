"""Which token each request carries, and what a rejected token raises."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from globus_runs import (
    AuthenticationError,
    ClientCredentialsAuthorizer,
    PermissionDeniedError,
    TokenMapAuthorizer,
)
from globus_runs.testing import FakeGlobus

from ._support import FLOWS, FLOWS_ALL, authorization_headers, flow_scope, statuses

pytestmark = pytest.mark.anyio


def sent(fake: FakeGlobus) -> list[tuple[str, str, str | None]]:
    """Method, path and Authorization header of each Flows request."""
    return [
        (r.method, r.path, r.headers.get("authorization"))
        for r in fake.requests
        if r.service == "flows"
    ]


async def test_a_token_map_sends_the_flow_token_to_run_flow_and_the_flows_token_to_get_run(
    fake: FakeGlobus, flow_id: str
) -> None:
    flows_token = fake.issue_token(identity_id=fake.identity_id, resource_servers={FLOWS})
    flow_token = fake.issue_token(identity_id=fake.identity_id, resource_servers={flow_id})
    authorizer = TokenMapAuthorizer({FLOWS: flows_token, flow_id: flow_token})
    async with fake.flows_client(authorizer=authorizer) as flows:
        run = await flows.run_flow(flow_id, {"n": 1})
        fetched = await flows.get_run(run.run_id)
    assert fetched.run_id == run.run_id
    assert sent(fake) == [
        ("POST", f"/flows/{flow_id}/run", f"Bearer {flow_token}"),
        ("GET", f"/runs/{run.run_id}", f"Bearer {flows_token}"),
    ]


async def test_resume_run_sends_the_flow_token_after_reading_the_run_with_the_flows_token(
    fake: FakeGlobus,
) -> None:
    flow_id = fake.add_flow(duration=60, inactive_after=5)
    [run_id] = fake.add_runs(flow_id, 1)
    fake.clock.advance(10)
    flows_token = fake.issue_token(identity_id=fake.identity_id, resource_servers={FLOWS})
    flow_token = fake.issue_token(identity_id=fake.identity_id, resource_servers={flow_id})
    authorizer = TokenMapAuthorizer({FLOWS: flows_token, flow_id: flow_token})
    async with fake.flows_client(authorizer=authorizer) as flows:
        run = await flows.resume_run(run_id)
    assert run.status == "ACTIVE"
    assert sent(fake) == [
        ("GET", f"/runs/{run_id}", f"Bearer {flows_token}"),
        ("POST", f"/runs/{run_id}/resume", f"Bearer {flow_token}"),
    ]


async def test_client_credentials_with_a_flow_scope_send_each_resource_servers_token(
    fake: FakeGlobus,
    flow_id: str,
    client_credentials: Callable[..., ClientCredentialsAuthorizer],
) -> None:
    authorizer = client_credentials([FLOWS_ALL, flow_scope(flow_id)])
    async with fake.flows_client(authorizer=authorizer) as flows:
        run = await flows.run_flow(flow_id, {})
        await flows.get_run(run.run_id)
    assert len(fake.token_requests) == 1
    assert statuses(fake) == [201, 200]
    now = fake.clock.now()
    servers = [
        fake.tokens.authenticate(h, now).resource_servers for h in authorization_headers(fake)
    ]
    assert servers == [frozenset({flow_id}), frozenset({FLOWS})]


async def test_a_static_tokens_401_is_raised_without_a_retry(
    fake: FakeGlobus, flow_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    token = fake.issue_token(identity_id=fake.identity_id)
    fake.revoke_token(token)
    async with fake.flows_client(authorizer=token) as flows:
        with pytest.raises(AuthenticationError) as caught:
            await flows.get_run(run_id)
    assert (caught.value.http_status, caught.value.code) == (401, "AUTHENTICATION_ERROR")
    assert sent(fake) == [("GET", f"/runs/{run_id}", f"Bearer {token}")]


async def test_a_token_for_another_resource_server_raises_permission_denied(
    fake: FakeGlobus, flow_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    token = fake.issue_token(identity_id=fake.identity_id, resource_servers={flow_id})
    async with fake.flows_client(authorizer=token) as flows:
        with pytest.raises(PermissionDeniedError) as caught:
            await flows.get_run(run_id)
    assert (caught.value.http_status, caught.value.code) == (403, "MISSING_SCOPE")
    assert statuses(fake) == [403]
