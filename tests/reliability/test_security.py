"""Credentials stay safe: https only off loopback, no redirect, nothing secret in any log."""

from __future__ import annotations

import logging
import traceback

import httpx
import pytest

from globus_runs import (
    APIError,
    ClientCredentialsAuthorizer,
    ConfigurationError,
    FlowsClient,
    GlobusRunsError,
    RefreshTokenAuthorizer,
    RetryPolicy,
    RunRequest,
    TimersClient,
)
from globus_runs.testing import FakeGlobus, asgi_transport, serve_in_thread

pytestmark = pytest.mark.anyio

SECRET_TOKEN = "secret-token-4f1c9a"
FLOWS_ALL = "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/all"
FLOWS = "flows.globus.org"

REMOTE_HTTP = [
    "http://flows.example.org",
    "http://10.0.0.1",
    "http://127.0.0.1.example.org",
    "http://localhost.example.org",
    "http://a.localhost",
    "http://localhost.localdomain",
    "HTTP://flows.example.org",
    "http://[2001:db8::1]:8080",
]
# A loopback address as the user name of a remote host: refused for the credentials.
DISGUISED = "http://127.0.0.1@flows.example.org"
LOOPBACK_HTTP = [
    "http://127.0.0.1:8000",
    "http://localhost",
    "http://[::1]:9000",
]


def flow_scope(flow_id: str) -> str:
    return f"https://auth.globus.org/scopes/{flow_id}/flow_{flow_id.replace('-', '_')}_user"


# -- https off loopback -----------------------------------------------------------------


@pytest.mark.parametrize("url", REMOTE_HTTP)
def test_flows_refuses_plain_http_to_a_remote_host(url: str) -> None:
    with pytest.raises(ConfigurationError, match="https"):
        FlowsClient(authorizer=SECRET_TOKEN, base_url=url)


@pytest.mark.parametrize("url", REMOTE_HTTP)
def test_timers_refuses_plain_http_to_a_remote_host(url: str) -> None:
    with pytest.raises(ConfigurationError, match="https"):
        TimersClient(authorizer=SECRET_TOKEN, base_url=url)


@pytest.mark.parametrize("url", REMOTE_HTTP)
def test_token_endpoints_refuse_plain_http_to_a_remote_host(url: str) -> None:
    with pytest.raises(ConfigurationError, match="https"):
        ClientCredentialsAuthorizer("client", "client-secret", [FLOWS_ALL], auth_url=url)
    with pytest.raises(ConfigurationError, match="https"):
        RefreshTokenAuthorizer("client", "refresh-token", auth_url=url)


def test_a_loopback_address_before_an_at_sign_is_no_loopback_host() -> None:
    for build in (
        lambda: FlowsClient(authorizer=SECRET_TOKEN, base_url=DISGUISED),
        lambda: TimersClient(authorizer=SECRET_TOKEN, base_url=DISGUISED),
        lambda: RefreshTokenAuthorizer("client", "refresh-token", auth_url=DISGUISED),
    ):
        with pytest.raises(ConfigurationError, match="must not carry credentials"):
            build()


def test_a_timers_client_refuses_plain_http_flows_before_any_request() -> None:
    with pytest.raises(ConfigurationError, match="https"):
        TimersClient(authorizer=SECRET_TOKEN, flows_base_url="http://flows.example.org")


@pytest.mark.parametrize("url", LOOPBACK_HTTP)
def test_plain_http_to_loopback_is_accepted(url: str) -> None:
    assert FlowsClient(authorizer=SECRET_TOKEN, base_url=url).base_url == url


# -- redirects ---------------------------------------------------------------------------


def _redirecting(status: int, sent: list[httpx.Request]) -> httpx.MockTransport:
    """Answer ``status`` to a stranger's URL; answer 200 there (and note every request)."""

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.url.host == "evil.example":
            return httpx.Response(200, json={})
        return httpx.Response(status, headers={"Location": "https://evil.example/collect"})

    return httpx.MockTransport(handle)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_is_an_error_even_on_a_shared_client_that_follows_them(
    status: int,
) -> None:
    sent: list[httpx.Request] = []
    async with httpx.AsyncClient(
        transport=_redirecting(status, sent), follow_redirects=True
    ) as shared:
        flows = FlowsClient(
            authorizer=SECRET_TOKEN, base_url="https://flows.example.org", http_client=shared
        )
        with pytest.raises(APIError) as caught:
            await flows.get_run("00000000-0000-4000-8000-000000000001")
    assert caught.value.http_status == status
    assert [r.url.host for r in sent] == ["flows.example.org"]


async def test_the_token_endpoint_redirect_is_not_followed_with_the_client_secret() -> None:
    sent: list[httpx.Request] = []
    async with httpx.AsyncClient(transport=_redirecting(307, sent), follow_redirects=True) as auth:
        authorizer = ClientCredentialsAuthorizer(
            "client-id", "client-secret", [FLOWS_ALL], http_client=auth
        )
        with pytest.raises(GlobusRunsError):
            await authorizer.get_authorization_header(FLOWS)
    assert [r.url.host for r in sent] == ["auth.globus.org"]


# -- nothing secret in any log -----------------------------------------------------------


def _secrets(fake: FakeGlobus, client_secret: str) -> set[str]:
    """The client secret and every credential the emulator saw, as sent and bare."""
    found = {client_secret, fake.token}
    for request in fake.requests:
        header = request.headers.get("authorization", "")
        if header:
            found.update({header, header.partition(" ")[2]})
    return {secret for secret in found if secret}


def _rendered(record: logging.LogRecord) -> str:
    """Everything a handler could print for ``record``."""
    parts = [record.getMessage(), repr(record.args), repr(record.__dict__)]
    if record.exc_info and record.exc_info[1] is not None:
        parts.append("".join(traceback.format_exception(record.exc_info[1])))
    return "\n".join(parts)


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every logger's records at DEBUG, httpx and httpcore included."""
    caplog.set_level(logging.DEBUG)
    for name in ("globus_runs", "httpx", "httpcore", "uvicorn", "uvicorn.error"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


async def _faulty_batches(fake: FakeGlobus, flows: FlowsClient, flow_id: str, owner: str) -> None:
    """Batches through 5xx, dropped connections, 429s and a revoked token."""
    run_ids = fake.add_runs(flow_id, 30, owner=owner)
    fake.faults.seed(3)
    for kind in ("503", "reset_before", "reset_after", "429", "truncated"):
        fake.faults.add(kind, probability=0.05, retry_after=0.01)
    results = await flows.batch_get_runs(run_ids)
    fake.revoke_client_tokens(owner)  # every request now meets a 401 first
    requests = [RunRequest(flow_id, {"n": n}) for n in range(20)]
    results += await flows.batch_run_flows(requests)
    assert all(r.ok or isinstance(r.error, GlobusRunsError) for r in results)
    assert fake.faults.fired > 0


async def test_no_secret_is_logged_during_a_faulty_batch(
    fake: FakeGlobus, flow_id: str, quick: RetryPolicy, debug_logs: pytest.LogCaptureFixture
) -> None:
    client_id, client_secret = fake.add_client()
    async with httpx.AsyncClient(transport=asgi_transport(fake.app)) as http:
        authorizer = ClientCredentialsAuthorizer(
            client_id,
            client_secret,
            [FLOWS_ALL, flow_scope(flow_id)],
            auth_url=fake.auth_url,
            http_client=http,
        )
        flows = FlowsClient(
            authorizer=authorizer, base_url=fake.flows_url, http_client=http, retry=quick
        )
        await _faulty_batches(fake, flows, flow_id, client_id)
    assert authorizer.renewals >= 2
    secrets = _secrets(fake, client_secret)
    assert len(secrets) >= 5
    assert any(record.name == "httpx" for record in debug_logs.records)
    leaks = [r.getMessage() for r in debug_logs.records if any(s in _rendered(r) for s in secrets)]
    assert leaks == []


async def test_no_secret_is_logged_during_a_faulty_batch_over_sockets(
    fake: FakeGlobus, flow_id: str, quick: RetryPolicy, debug_logs: pytest.LogCaptureFixture
) -> None:
    client_id, client_secret = fake.add_client()
    with serve_in_thread(fake) as info:
        async with httpx.AsyncClient() as http:
            authorizer = ClientCredentialsAuthorizer(
                client_id,
                client_secret,
                [FLOWS_ALL, flow_scope(flow_id)],
                auth_url=info["auth_url"],
                http_client=http,
            )
            flows = FlowsClient(
                authorizer=authorizer, base_url=info["flows_url"], http_client=http, retry=quick
            )
            await _faulty_batches(fake, flows, flow_id, client_id)
    secrets = _secrets(fake, client_secret)
    assert any(record.name.startswith("httpcore") for record in debug_logs.records)
    leaks = [r.getMessage() for r in debug_logs.records if any(s in _rendered(r) for s in secrets)]
    assert leaks == []
