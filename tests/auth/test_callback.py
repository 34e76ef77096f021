"""CallbackAuthorizer: tokens from a function, sync or async, asked on every request."""

from __future__ import annotations

from typing import Any

import anyio.lowlevel
import pytest

from globus_runs import AuthenticationError, CallbackAuthorizer, InvalidRequestError
from globus_runs.testing import FakeGlobus

from ._support import FLOWS, authorization_headers, statuses

pytestmark = pytest.mark.anyio


async def test_a_sync_getter_gives_the_token_of_each_resource_server(
    fake: FakeGlobus, flow_id: str
) -> None:
    tokens = {
        FLOWS: fake.issue_token(identity_id=fake.identity_id, resource_servers={FLOWS}),
        flow_id: fake.issue_token(identity_id=fake.identity_id, resource_servers={flow_id}),
    }
    asked: list[str] = []

    def token_for(resource_server: str) -> str:
        asked.append(resource_server)
        return tokens[resource_server]

    async with fake.flows_client(authorizer=CallbackAuthorizer(token_for)) as flows:
        run = await flows.run_flow(flow_id, {})
        await flows.get_run(run.run_id)
    assert asked == [flow_id, FLOWS]
    assert authorization_headers(fake) == [f"Bearer {tokens[flow_id]}", f"Bearer {tokens[FLOWS]}"]


async def test_an_async_getter_is_awaited(fake: FakeGlobus, flow_id: str) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    token = fake.issue_token(identity_id=fake.identity_id, resource_servers={FLOWS})

    async def token_for(resource_server: str) -> str:
        await anyio.lowlevel.checkpoint()
        return token

    async with fake.flows_client(authorizer=CallbackAuthorizer(token_for)) as flows:
        run = await flows.get_run(run_id)
    assert run.run_id == run_id
    assert authorization_headers(fake) == [f"Bearer {token}"]


async def test_a_401_is_retried_once_when_the_getter_then_gives_a_new_token(
    fake: FakeGlobus, flow_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    stale = fake.issue_token(identity_id=fake.identity_id)
    fake.revoke_token(stale)
    fresh = fake.issue_token(identity_id=fake.identity_id)
    # The getter's source of truth is updated once the first token was handed out.
    current = [stale]

    def token_for(resource_server: str) -> str:
        token = current[0]
        current[0] = fresh
        return token

    async with fake.flows_client(authorizer=CallbackAuthorizer(token_for)) as flows:
        run = await flows.get_run(run_id)
    assert run.run_id == run_id
    assert authorization_headers(fake) == [f"Bearer {stale}", f"Bearer {fresh}"]
    assert statuses(fake) == [401, 200]


async def test_a_401_is_raised_when_the_getter_gives_the_same_token_again(
    fake: FakeGlobus, flow_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)

    async with fake.flows_client(authorizer=CallbackAuthorizer(lambda rs: "revoked")) as flows:
        with pytest.raises(AuthenticationError):
            await flows.get_run(run_id)
    assert authorization_headers(fake) == ["Bearer revoked"]


async def test_a_second_401_is_raised_not_retried_again(fake: FakeGlobus, flow_id: str) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    handed_out: list[str] = []

    def token_for(resource_server: str) -> str:
        handed_out.append(f"invalid-{len(handed_out)}")
        return handed_out[-1]

    async with fake.flows_client(authorizer=CallbackAuthorizer(token_for)) as flows:
        with pytest.raises(AuthenticationError):
            await flows.get_run(run_id)
    assert authorization_headers(fake) == ["Bearer invalid-0", "Bearer invalid-2"]
    assert statuses(fake) == [401, 401]


async def test_a_getter_returning_none_sends_no_authorization(
    fake: FakeGlobus, flow_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    async with fake.flows_client(authorizer=CallbackAuthorizer(lambda rs: None)) as flows:
        with pytest.raises(AuthenticationError):
            await flows.get_run(run_id)
    assert authorization_headers(fake) == [None]


@pytest.mark.parametrize("token", [b"tok-SECRET-bytes", 12345678901])
async def test_a_token_that_is_not_a_str_is_refused_without_quoting_it(
    fake: FakeGlobus, token: object
) -> None:
    def token_for(resource_server: str) -> Any:  # a getter breaking its contract
        return token

    async with fake.flows_client(authorizer=CallbackAuthorizer(token_for)) as flows:
        with pytest.raises(
            InvalidRequestError, match=r"returned a (bytes|int), not a str"
        ) as caught:
            await flows.get_run("00000000-0000-4000-8000-000000000001")
    assert "SECRET" not in str(caught.value)
    assert "12345678901" not in str(caught.value)
    assert fake.requests == []
