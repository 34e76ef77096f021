"""Renewing while Globus Auth fails: one renewal shared by every request waiting on it, its
failure included, and every call ending typed within its own timeout."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest

from globus_runs import (
    APITimeoutError,
    Authorizer,
    CallbackAuthorizer,
    ClientCredentialsAuthorizer,
    GlobusRunsError,
    RetryPolicy,
    ServerError,
)
from globus_runs.testing import FakeGlobus

from ._support import FLOWS_ALL

pytestmark = pytest.mark.anyio

N = 60


async def failures_of_concurrent_calls(
    fake: FakeGlobus, authorizer: Authorizer, run_id: str
) -> list[GlobusRunsError]:
    errors: list[GlobusRunsError] = []
    async with fake.flows_client(authorizer=authorizer, retry=RetryPolicy.disabled()) as flows:

        async def get() -> None:
            try:
                await flows.get_run(run_id)
            except GlobusRunsError as error:
                errors.append(error)

        async with anyio.create_task_group() as tg:
            for _ in range(N):
                tg.start_soon(get)
    return errors


async def test_a_failed_renewal_is_shared_by_every_request_waiting_on_it(
    fake: FakeGlobus,
    client: tuple[str, str],
    flow_id: str,
    client_credentials: Callable[..., ClientCredentialsAuthorizer],
) -> None:
    [run_id] = fake.add_runs(flow_id, 1, owner=client[0])
    authorizer = client_credentials([FLOWS_ALL])
    async with fake.flows_client(authorizer=authorizer) as flows:
        await flows.get_run(run_id)
    fake.revoke_client_tokens(client[0])
    fake.faults.add("503", route="/auth/**", retry_after=0)
    fake.clear_requests()

    errors = await failures_of_concurrent_calls(fake, authorizer, run_id)

    assert len(errors) == N
    assert {type(error) for error in errors} == {ServerError}
    # One renewal, sent once and retried three times by its own policy: not one per waiter.
    assert len(fake.token_requests) == 4
    assert authorizer.renewals == 1


async def test_a_missing_token_during_an_outage_costs_one_renewal(
    fake: FakeGlobus,
    client: tuple[str, str],
    flow_id: str,
    client_credentials: Callable[..., ClientCredentialsAuthorizer],
) -> None:
    [run_id] = fake.add_runs(flow_id, 1, owner=client[0])
    fake.faults.add("503", route="/auth/**", retry_after=0)

    errors = await failures_of_concurrent_calls(fake, client_credentials([FLOWS_ALL]), run_id)

    assert {type(error) for error in errors} == {ServerError}
    assert len(errors) == N
    assert len(fake.token_requests) == 4


async def test_a_renewal_that_succeeds_after_a_failed_one_serves_later_calls(
    fake: FakeGlobus,
    client: tuple[str, str],
    flow_id: str,
    client_credentials: Callable[..., ClientCredentialsAuthorizer],
) -> None:
    [run_id] = fake.add_runs(flow_id, 1, owner=client[0])
    authorizer = client_credentials([FLOWS_ALL])
    fake.faults.add("503", route="/auth/**", retry_after=0, count=4)
    assert len(await failures_of_concurrent_calls(fake, authorizer, run_id)) == N
    async with fake.flows_client(authorizer=authorizer) as flows:
        run = await flows.get_run(run_id)
    assert run.run_id == run_id
    assert len(fake.token_requests) == 5


async def test_waiting_for_a_token_is_bounded_by_the_clients_timeout(
    fake: FakeGlobus, flow_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    never = anyio.Event()

    async def token_for(resource_server: str) -> str:
        await never.wait()  # an authorizer whose source never answers
        return "unused"

    authorizer = CallbackAuthorizer(token_for)
    async with fake.flows_client(authorizer=authorizer, timeout=0.05) as flows:
        with pytest.raises(APITimeoutError, match="authorizer gave no token"):
            await flows.get_run(run_id)
    assert fake.requests == []
