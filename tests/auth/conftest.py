"""Fixtures for the auth tests: a registered client, and an HTTP client on the emulator
(``fake``, in-process, whose manual clock starts at ``START``; see ``tests/conftest.py``) for
the authorizers to reach its token endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from globus_runs import ClientCredentialsAuthorizer, RefreshTokenAuthorizer
from globus_runs.testing import FakeGlobus


@pytest.fixture
def client(fake: FakeGlobus) -> tuple[str, str]:
    """A confidential client registered with the emulated Auth: ``(client_id, secret)``."""
    return fake.add_client()


@pytest.fixture
async def auth_http(fake: FakeGlobus) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the emulator, relative URLs going to its Auth service."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app), base_url=fake.auth_url
    ) as http:
        yield http


@pytest.fixture
def fake_time(fake: FakeGlobus) -> Callable[[], float]:
    """The emulator's clock as the authorizers read time (POSIX seconds)."""
    return lambda: fake.clock.now().timestamp()


@pytest.fixture
def client_credentials(
    fake: FakeGlobus,
    client: tuple[str, str],
    auth_http: httpx.AsyncClient,
    fake_time: Callable[[], float],
) -> Callable[..., ClientCredentialsAuthorizer]:
    """Build a client-credentials authorizer of ``client`` on the emulator for ``scopes``."""

    def build(scopes: list[str], **options: Any) -> ClientCredentialsAuthorizer:
        client_id, secret = client
        return ClientCredentialsAuthorizer(
            client_id,
            secret,
            scopes,
            auth_url=fake.auth_url,
            http_client=auth_http,
            clock=fake_time,
            **options,
        )

    return build


@pytest.fixture
def refresh_token_authorizer(
    fake: FakeGlobus, auth_http: httpx.AsyncClient, fake_time: Callable[[], float]
) -> Callable[..., RefreshTokenAuthorizer]:
    """Build a refresh-token authorizer on the emulator."""

    def build(client_id: str, refresh_token: str, **options: Any) -> RefreshTokenAuthorizer:
        return RefreshTokenAuthorizer(
            client_id,
            refresh_token,
            auth_url=fake.auth_url,
            http_client=auth_http,
            clock=fake_time,
            **options,
        )

    return build
