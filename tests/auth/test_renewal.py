"""Renewing authorizers on the emulator: one token request however many requests wait."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import anyio.lowlevel
import pytest

from globus_runs import (
    ClientCredentialsAuthorizer,
    RefreshTokenAuthorizer,
    Run,
    TokenResponse,
)
from globus_runs.testing import FakeGlobus

from ._support import FLOWS_ALL, authorization_headers, form_of, statuses

pytestmark = pytest.mark.anyio

N = 30


async def get_runs_concurrently(
    fake: FakeGlobus, authorizer: ClientCredentialsAuthorizer, run_ids: list[str]
) -> list[Run]:
    results: dict[int, Run] = {}
    async with fake.flows_client(authorizer=authorizer) as flows:

        async def get(index: int, run_id: str) -> None:
            results[index] = await flows.get_run(run_id)

        async with anyio.create_task_group() as tg:
            for index, run_id in enumerate(run_ids):
                tg.start_soon(get, index, run_id)
    return [results[i] for i in range(len(run_ids))]


async def test_concurrent_requests_with_a_fresh_authorizer_cause_one_token_request(
    fake: FakeGlobus,
    client: tuple[str, str],
    flow_id: str,
    client_credentials: Callable[..., ClientCredentialsAuthorizer],
) -> None:
    run_ids = fake.add_runs(flow_id, N, owner=client[0])
    authorizer = client_credentials([FLOWS_ALL])
    runs = await get_runs_concurrently(fake, authorizer, run_ids)
    assert [run.run_id for run in runs] == run_ids
    assert len(fake.token_requests) == 1
    assert authorizer.renewals == 1
    assert statuses(fake) == [200] * N
    assert len(set(authorization_headers(fake))) == 1


async def test_after_a_revocation_concurrent_requests_cause_one_renewal(
    fake: FakeGlobus,
    client: tuple[str, str],
    flow_id: str,
    client_credentials: Callable[..., ClientCredentialsAuthorizer],
) -> None:
    run_ids = fake.add_runs(flow_id, N, owner=client[0])
    authorizer = client_credentials([FLOWS_ALL])
    await get_runs_concurrently(fake, authorizer, run_ids[:1])
    [old_header] = authorization_headers(fake)
    fake.revoke_client_tokens(client[0])
    fake.clear_requests()

    runs = await get_runs_concurrently(fake, authorizer, run_ids)

    assert [run.run_id for run in runs] == run_ids
    assert len(fake.token_requests) == 1
    assert authorizer.renewals == 2
    answered = list(zip(authorization_headers(fake), statuses(fake), strict=True))
    new_headers = {header for header, status in answered if status == 200}
    assert len(new_headers) == 1
    assert old_header not in new_headers
    assert {status for header, status in answered if header == old_header} <= {401}
    assert statuses(fake).count(200) == N


async def test_a_token_is_renewed_before_it_expires_on_the_emulators_clock(
    fake: FakeGlobus,
    client: tuple[str, str],
    flow_id: str,
    client_credentials: Callable[..., ClientCredentialsAuthorizer],
) -> None:
    fake.token_lifetime = 3600
    [run_id] = fake.add_runs(flow_id, 1, owner=client[0])
    async with fake.flows_client(authorizer=client_credentials([FLOWS_ALL])) as flows:
        await flows.get_run(run_id)
        fake.clock.advance(3539)
        await flows.get_run(run_id)
        assert len(fake.token_requests) == 1
        fake.clock.advance(2)  # 59 s before the token expires
        await flows.get_run(run_id)
    assert len(fake.token_requests) == 2
    assert statuses(fake) == [200, 200, 200]
    first, second, third = authorization_headers(fake)
    assert first == second != third


async def test_a_short_lived_token_is_renewed_at_half_its_lifetime(
    fake: FakeGlobus,
    client: tuple[str, str],
    flow_id: str,
    client_credentials: Callable[..., ClientCredentialsAuthorizer],
) -> None:
    fake.token_lifetime = 30
    [run_id] = fake.add_runs(flow_id, 1, owner=client[0])
    async with fake.flows_client(authorizer=client_credentials([FLOWS_ALL])) as flows:
        for _ in range(3):
            await flows.get_run(run_id)
        fake.clock.advance(15)
        await flows.get_run(run_id)
    assert len(fake.token_requests) == 2
    assert statuses(fake) == [200] * 4


async def test_a_rotated_refresh_token_reaches_on_refresh_and_is_used_next(
    fake: FakeGlobus,
    flow_id: str,
    refresh_token_authorizer: Callable[..., RefreshTokenAuthorizer],
) -> None:
    client_id = fake.add_native_client()
    original = fake.issue_refresh_token(client_id, [FLOWS_ALL], rotate=True)
    [run_id] = fake.add_runs(flow_id, 1)
    refreshed: list[TokenResponse] = []
    authorizer = refresh_token_authorizer(client_id, original, on_refresh=refreshed.append)
    async with fake.flows_client(authorizer=authorizer) as flows:
        await flows.get_run(run_id)
        fake.revoke_client_tokens(client_id)
        await flows.get_run(run_id)

    assert len(refreshed) == 2
    rotated = [response.refresh_token for response in refreshed]
    assert len({original, *rotated}) == 3
    sent = [form_of(request)["refresh_token"] for request in fake.token_requests]
    assert sent == [original, rotated[0]]
    assert statuses(fake) == [200, 401, 200]
    assert set(fake.auth_service.refresh_tokens) == {rotated[1]}


async def test_an_async_on_refresh_is_awaited(
    fake: FakeGlobus,
    flow_id: str,
    refresh_token_authorizer: Callable[..., RefreshTokenAuthorizer],
) -> None:
    client_id = fake.add_native_client()
    original = fake.issue_refresh_token(client_id, [FLOWS_ALL], rotate=True)
    stored: list[str | None] = []

    async def store(response: TokenResponse) -> None:
        await anyio.lowlevel.checkpoint()
        stored.append(response.refresh_token)

    authorizer = refresh_token_authorizer(client_id, original, on_refresh=store)
    [run_id] = fake.add_runs(flow_id, 1)
    async with fake.flows_client(authorizer=authorizer) as flows:
        await flows.get_run(run_id)
    assert stored == list(fake.auth_service.refresh_tokens)


async def test_a_native_client_sends_its_id_in_the_form_and_no_authorization(
    fake: FakeGlobus,
    flow_id: str,
    refresh_token_authorizer: Callable[..., RefreshTokenAuthorizer],
) -> None:
    client_id = fake.add_native_client()
    refresh_token = fake.issue_refresh_token(client_id, [FLOWS_ALL])
    [run_id] = fake.add_runs(flow_id, 1)
    authorizer = refresh_token_authorizer(client_id, refresh_token)
    async with fake.flows_client(authorizer=authorizer) as flows:
        await flows.get_run(run_id)
    [request] = fake.token_requests
    assert form_of(request) == {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": client_id,
    }
    assert "authorization" not in request.headers
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"


async def test_a_confidential_client_refreshes_with_basic_auth(
    fake: FakeGlobus,
    client: tuple[str, str],
    flow_id: str,
    refresh_token_authorizer: Callable[..., RefreshTokenAuthorizer],
) -> None:
    client_id, secret = client
    refresh_token = fake.issue_refresh_token(client_id, [FLOWS_ALL])
    [run_id] = fake.add_runs(flow_id, 1)
    authorizer = refresh_token_authorizer(client_id, refresh_token, client_secret=secret)
    async with fake.flows_client(authorizer=authorizer) as flows:
        run = await flows.get_run(run_id)
    assert run.run_id == run_id
    [request] = fake.token_requests
    assert form_of(request) == {"grant_type": "refresh_token", "refresh_token": refresh_token}
    assert request.headers["authorization"].startswith("Basic ")


async def test_a_cancelled_request_does_not_lose_a_rotated_refresh_token(
    fake: FakeGlobus,
    flow_id: str,
    refresh_token_authorizer: Callable[..., RefreshTokenAuthorizer],
) -> None:
    client_id = fake.add_native_client()
    original = fake.issue_refresh_token(client_id, [FLOWS_ALL], rotate=True)
    [run_id] = fake.add_runs(flow_id, 1)
    refreshed: list[TokenResponse] = []
    authorizer = refresh_token_authorizer(client_id, original, on_refresh=refreshed.append)
    async with fake.flows_client(authorizer=authorizer) as flows:
        fake.latency = 0.2
        with anyio.move_on_after(0.05):
            await flows.get_run(run_id)  # cancelled while its token is being refreshed
        fake.latency = 0.0
        run = await flows.get_run(run_id)
    assert run.run_id == run_id
    assert [r.refresh_token for r in refreshed] == list(fake.auth_service.refresh_tokens)
    assert len(fake.token_requests) == 1
    assert 401 not in statuses(fake)
