"""The edges of the network core: values that cannot be sent, which hosts plain http may
reach, proxies, TLS and event loops (each on asyncio and trio where it awaits)."""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import pathlib
import socket
import ssl
import warnings
from contextlib import AsyncExitStack
from typing import Any

import anyio
import httpx
import pytest
import trustme

from globus_runs import (
    ClientCredentialsAuthorizer,
    ConfigurationError,
    FlowsClient,
    InvalidRequestError,
    NetworkError,
    RetryEvent,
    RetryPolicy,
    _wire,
    pooled_http_client,
)
from globus_runs._http import pool_errors
from globus_runs._http.pool import H1Pool
from globus_runs._http.proxies import environment_proxy as _environment_proxy
from globus_runs.testing import FakeClock, FakeGlobus
from globus_runs.testing._routes import LoopbackServer, RoutedFake

from ..conftest import START
from .test_h1 import RUN_DOCUMENT, TIMEOUTS, Script, answer, get

pytestmark = pytest.mark.anyio

LONE_SURROGATE = "label \ud800"
SECRET = "secret-token-7c1d0e"


# -- values that cannot be sent ----------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(
            lambda flows, flow_id: flows.list_runs(filter_label=LONE_SURROGATE), id="query"
        ),
        pytest.param(
            lambda flows, flow_id: flows.list_runs(filter_roles=["run_owner", LONE_SURROGATE]),
            id="query-list",
        ),
        pytest.param(
            lambda flows, flow_id: flows.run_flow(flow_id, {"a": LONE_SURROGATE}), id="body"
        ),
        pytest.param(
            lambda flows, flow_id: flows.run_flow(flow_id, {}, label=LONE_SURROGATE), id="label"
        ),
    ],
)
async def test_a_value_with_no_utf8_form_is_refused_before_sending(
    fake: FakeGlobus, call: Any
) -> None:
    flow_id = fake.add_flow()
    async with fake.flows_client() as flows:
        with pytest.raises(InvalidRequestError) as caught:
            await call(flows, flow_id)
    assert "\ud800" not in str(caught.value)
    assert fake.requests == []


async def test_a_scope_with_no_utf8_form_is_refused_before_the_token_request(
    fake: FakeGlobus,
) -> None:
    client_id, secret = fake.add_client()
    authorizer = ClientCredentialsAuthorizer(
        client_id, secret, [LONE_SURROGATE], auth_url=fake.auth_url
    )
    async with fake.flows_client(authorizer=authorizer) as flows:
        with pytest.raises(InvalidRequestError, match="token request cannot be sent"):
            await flows.get_run("00000000-0000-4000-8000-000000000001")
    assert fake.requests == []


# -- plain http: literal loopback, or localhost resolving to it -------------------------------


@pytest.mark.parametrize(
    "url", ["http://a.localhost", "http://flows.localhost:8000", "http://localhost.localdomain"]
)
def test_plain_http_to_a_name_under_localhost_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="must use https"):
        FlowsClient(authorizer="token-for-the-test", base_url=url)


def test_plain_http_to_localhost_needs_it_to_resolve_to_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def resolver(host: str, *args: Any, **kwargs: Any) -> list[Any]:
        assert host == "localhost"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 0))]

    _wire._localhost_is_loopback.cache_clear()
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    try:
        with pytest.raises(ConfigurationError, match="does not resolve to loopback"):
            FlowsClient(authorizer="token-for-the-test", base_url="http://localhost:8000")
        # A literal address needs no resolver.
        FlowsClient(authorizer="token-for-the-test", base_url="http://127.0.0.1:8000")
    finally:
        _wire._localhost_is_loopback.cache_clear()


def test_plain_http_to_localhost_resolving_to_loopback_is_accepted() -> None:
    _wire._localhost_is_loopback.cache_clear()
    assert _wire.check_base_url("http://localhost:8000/flows/") == "http://localhost:8000/flows"


# -- proxies ----------------------------------------------------------------------------------

PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")
RUN_ID = "00000000-0000-4000-8000-000000000001"


@pytest.fixture
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy variables in the environment; set some with the returned monkeypatch."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


@pytest.mark.parametrize("shared", [False, True], ids=["own-pool", "pooled-http-client"])
@pytest.mark.parametrize("variable", ["HTTP_PROXY", "ALL_PROXY"])
async def test_a_loopback_service_is_never_reached_through_a_proxy(
    no_proxies: pytest.MonkeyPatch, variable: str, shared: bool
) -> None:
    proxy, service = Script(answer(RUN_DOCUMENT)), Script(answer(RUN_DOCUMENT))
    async with proxy.running() as proxy_origin, service.running() as origin:
        no_proxies.setenv(variable, f"http://127.0.0.1:{proxy_origin[2]}")
        base_url = f"http://127.0.0.1:{origin[2]}"
        async with AsyncExitStack() as stack:
            http_client = await stack.enter_async_context(pooled_http_client()) if shared else None
            flows = await stack.enter_async_context(
                FlowsClient(authorizer=SECRET, base_url=base_url, http_client=http_client)
            )
            await flows.get_run(RUN_ID)
    assert proxy.requests == []
    assert service.requests[0].startswith(f"GET /runs/{RUN_ID} HTTP/1.1\r\n".encode())
    assert f"Bearer {SECRET}".encode() in service.requests[0]


@pytest.mark.parametrize(
    ("environment", "variable"),
    [
        ({"HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "[::1]"}, "NO_PROXY"),
        ({"HTTPS_PROXY": "ftp://user:pa55-SECRET@127.0.0.1:21"}, "HTTPS_PROXY"),
        ({"ALL_PROXY": "http://127.0.0.1:bad-port"}, "ALL_PROXY"),
        pytest.param(
            {"ALL_PROXY": "socks5://user:pa55-SECRET@127.0.0.1:1080"},
            "ALL_PROXY",
            marks=pytest.mark.skipif(
                importlib.util.find_spec("socksio") is not None, reason="socksio is installed"
            ),
            id="socks-without-socksio",
        ),
    ],
)
@pytest.mark.parametrize("make", ["flows-client", "pooled-http-client"])
def test_a_proxy_setting_httpx_cannot_use_is_a_configuration_error_naming_it(
    no_proxies: pytest.MonkeyPatch, environment: dict[str, str], variable: str, make: str
) -> None:
    for name, value in environment.items():
        no_proxies.setenv(name, value)
    with pytest.raises(ConfigurationError, match=variable) as caught:
        if make == "flows-client":
            FlowsClient(authorizer=SECRET, base_url="https://flows.example.org")
        else:
            pooled_http_client()
    assert "SECRET" not in str(caught.value)


NO_PROXY_VALUES = [
    ".localhost",
    "localhost",
    "example.org",
    ".example.org",
    "flows.example.org,10.0.0.1",
    "::1,2001:db8::1",
    "https://flows.example.org",
    "*",
    "",
]
URLS = [
    "https://flows.example.org",
    "https://example.org",
    "https://a.localhost",
    "https://localhost.example.org",
    "https://10.0.0.1:8443",
    "https://[2001:db8::1]",
    "http://flows.example.org",
]


@pytest.mark.parametrize("no_proxy", NO_PROXY_VALUES)
async def test_proxy_routing_is_httpxs(no_proxies: pytest.MonkeyPatch, no_proxy: str) -> None:
    no_proxies.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    no_proxies.setenv("NO_PROXY", no_proxy)
    async with httpx.AsyncClient() as reference:
        for url in URLS:
            proxied = reference._transport_for_url(httpx.URL(url)) is not reference._transport
            assert _environment_proxy(url) is proxied, url


# -- TLS ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


def no_retries_seen(seen: list[RetryEvent]) -> RetryPolicy:
    return RetryPolicy(max_retries=5, backoff_initial=0.001, on_retry=seen.append)


@pytest.mark.parametrize("way", ["own-pool", "callers-httpx-client"])
async def test_a_certificate_that_fails_verification_is_a_configuration_error_not_retried(
    tls_server: ssl.SSLContext, no_proxies: pytest.MonkeyPatch, way: str
) -> None:
    seen: list[RetryEvent] = []
    script = Script(answer(RUN_DOCUMENT))
    async with script.running(tls_server) as origin, AsyncExitStack() as stack:
        http_client = None
        if way == "callers-httpx-client":
            http_client = await stack.enter_async_context(httpx.AsyncClient())
        flows = FlowsClient(
            authorizer=SECRET,
            base_url=f"https://127.0.0.1:{origin[2]}",
            http_client=http_client,
            retry=no_retries_seen(seen),
        )
        async with flows:
            with pytest.raises(ConfigurationError, match="failed verification") as caught:
                await flows.get_run(RUN_ID)
    assert "pooled_http_client(verify=" in str(caught.value)
    assert seen == []
    assert script.requests == []


async def test_a_private_ca_is_trusted_through_verify(
    ca: trustme.CA, tls_server: ssl.SSLContext, no_proxies: pytest.MonkeyPatch
) -> None:
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    script = Script(answer(RUN_DOCUMENT))
    async with script.running(tls_server) as origin, pooled_http_client(verify=trusting) as http:
        flows = FlowsClient(
            authorizer=SECRET, base_url=f"https://127.0.0.1:{origin[2]}", http_client=http
        )
        run = await flows.get_run(RUN_ID)
    assert run.run_id == RUN_ID


async def test_a_private_ca_is_trusted_through_ssl_cert_file(
    ca: trustme.CA,
    tls_server: ssl.SSLContext,
    no_proxies: pytest.MonkeyPatch,
    tmp_path: pathlib.Path,
) -> None:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    no_proxies.setenv("SSL_CERT_FILE", str(ca_file))
    script = Script(answer(RUN_DOCUMENT))
    async with script.running(tls_server) as origin:
        base_url = f"https://127.0.0.1:{origin[2]}"
        async with FlowsClient(authorizer=SECRET, base_url=base_url) as flows:
            run = await flows.get_run(RUN_ID)
    assert run.run_id == RUN_ID


def test_verify_must_be_an_ssl_context() -> None:
    with pytest.raises(ConfigurationError, match=r"ssl\.SSLContext"):
        pooled_http_client(verify=True)  # type: ignore[arg-type]


async def test_a_missing_ssl_cert_file_is_named_and_plain_http_never_needs_it(
    tls_server: ssl.SSLContext, no_proxies: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    missing = tmp_path / "no-such-ca.pem"
    no_proxies.setenv("SSL_CERT_FILE", str(missing))
    seen: list[RetryEvent] = []
    plain, tls = Script(answer(RUN_DOCUMENT)), Script(answer(RUN_DOCUMENT))
    async with plain.running() as plain_origin, tls.running(tls_server) as tls_origin:
        base_url = f"http://127.0.0.1:{plain_origin[2]}"
        async with FlowsClient(authorizer=SECRET, base_url=base_url) as flows:
            assert (await flows.get_run(RUN_ID)).run_id == RUN_ID
        base_url = f"https://127.0.0.1:{tls_origin[2]}"
        retry = no_retries_seen(seen)
        async with FlowsClient(authorizer=SECRET, base_url=base_url, retry=retry) as flows:
            with pytest.raises(ConfigurationError, match="SSL_CERT_FILE") as caught:
                await flows.get_run(RUN_ID)
    assert str(missing) in str(caught.value)
    assert seen == []


# -- TLS truncation ---------------------------------------------------------------------------

UNTIL_CLOSE = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{"run_id": "r1", "status"'


async def answer_then_close_notify(
    _: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes
) -> None:
    writer.write(UNTIL_CLOSE + b': "ACTIVE"}')
    await writer.drain()
    writer.close()  # TLS close: close_notify, then the TCP close


async def answer_cut_without_close_notify(
    _: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes
) -> None:
    writer.write(UNTIL_CLOSE)
    await writer.drain()
    writer.transport.abort()  # the TCP connection closes; no close_notify is sent


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def test_an_answer_read_until_a_tls_close_notify_is_complete(
    ca: trustme.CA, tls_server: ssl.SSLContext
) -> None:
    script = Script(answer_then_close_notify)
    async with script.running(tls_server) as origin:
        h1 = H1Pool(2, trusting(ca))
        status, _, body = await h1.request(origin, b"GET", get(), TIMEOUTS)
        await h1.aclose()
    assert (status, body) == (200, b'{"run_id": "r1", "status": "ACTIVE"}')


async def test_an_answer_read_until_close_cut_without_close_notify_is_a_network_error(
    ca: trustme.CA, tls_server: ssl.SSLContext, no_proxies: pytest.MonkeyPatch
) -> None:
    script = Script(answer_cut_without_close_notify)
    async with script.running(tls_server) as origin:
        h1 = H1Pool(2, trusting(ca))
        with pytest.raises(pool_errors.RemoteProtocolError, match=r"close_notify|EOF"):
            await h1.request(origin, b"GET", get(), TIMEOUTS)
        await h1.aclose()
        script.actions.append(answer_cut_without_close_notify)
        async with pooled_http_client(verify=trusting(ca)) as http:
            flows = FlowsClient(
                authorizer=SECRET,
                base_url=f"https://127.0.0.1:{origin[2]}",
                http_client=http,
                retry=RetryPolicy.disabled(),
            )
            with pytest.raises(NetworkError):
                await flows.get_run(RUN_ID)


# -- one client, one event loop after another -----------------------------------------------


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_client_used_from_one_event_loop_after_another_leaves_no_connection_behind(
    fake_globus_server: LoopbackServer, no_proxies: pytest.MonkeyPatch, backend: str
) -> None:
    # As a script or a notebook does: a new event loop (asyncio.run, trio.run) for each call.
    fake = RoutedFake(FakeClock(START), fake_globus_server)
    [run_id] = fake.add_runs(fake.add_flow(), 1)
    flows = fake.flows_client()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(5):
                run = anyio.run(flows.get_run, run_id, backend=backend)
                assert run.run_id == run_id
            gc.collect()
        assert [str(w.message) for w in caught if w.category is ResourceWarning] == []
        assert len([r for r in fake.requests if r.path.startswith("/runs/")]) == 5
    finally:
        anyio.run(flows.aclose, backend=backend)
        fake_globus_server.unmount_all()
