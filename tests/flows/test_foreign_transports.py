"""What a connection error proves depends on who reports it.

The library's own pool and httpx's own transport report a connect error only when the request
never left, so a run start is sent again after one. Any other transport's word proves nothing
(httpx-aiohttp reports a server that hung up after reading the request as ConnectTimeout):
such an error is ambiguous, and a start is not sent again. Whatever a foreign transport raises
becomes a NetworkError.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from globus_runs import (
    APITimeoutError,
    ConnectError,
    FlowsClient,
    NetworkError,
    RetryPolicy,
    pooled_http_client,
)
from globus_runs._http import pool_errors

pytestmark = pytest.mark.anyio

FLOW_ID = "24bc4997-b483-4c25-a19c-64b0afc00743"
RUN_ID = "36ad9f9a-ad29-488f-beb4-c22ab729643a"
TOKEN = "tok-SECRET-77"
FAST = RetryPolicy(max_retries=2, backoff_initial=0.001, backoff_max=0.002)


@contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port bound but not listening: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


class ClientResponseError(Exception):
    """Stands in for ``aiohttp.ClientResponseError``, which httpx-aiohttp lets through."""


class Foreign(httpx.AsyncBaseTransport):
    """A transport of someone else's: reads each request, then raises ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.bodies: list[bytes] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(await request.aread())
        raise self.error


def on(transport: httpx.AsyncBaseTransport, retry: RetryPolicy = FAST) -> FlowsClient:
    return FlowsClient(
        authorizer=TOKEN,
        base_url="https://flows.automate.globus.org",
        transport=transport,
        retry=retry,
    )


@pytest.mark.parametrize("http", ["own pool", "httpx"])
async def test_a_refused_start_is_sent_again_on_a_pool_that_proves_it_never_left(
    http: str,
) -> None:
    with refused_port() as port:
        async with httpx.AsyncClient() as plain:
            flows = FlowsClient(
                authorizer=TOKEN,
                base_url=f"http://127.0.0.1:{port}",
                http_client=plain if http == "httpx" else None,
                retry=FAST,
            )
            with pytest.raises(ConnectError) as caught:
                await flows.run_flow(FLOW_ID, {})
            await flows.aclose()
    assert caught.value.attempts == 3
    assert caught.value.method == "POST"


async def test_the_own_pools_connect_error_is_chained_to_the_pools() -> None:
    with refused_port() as port:
        async with FlowsClient(
            authorizer=TOKEN, base_url=f"http://127.0.0.1:{port}", retry=RetryPolicy.disabled()
        ) as flows:
            with pytest.raises(ConnectError) as caught:
                await flows.get_run(RUN_ID)
    assert isinstance(caught.value.__cause__, pool_errors.ConnectError)


@pytest.mark.parametrize(
    ("error", "cls"),
    [
        (httpx.ConnectTimeout("timed out"), APITimeoutError),
        (httpx.ConnectError("hung up"), NetworkError),
        (httpx.PoolTimeout("no connection"), APITimeoutError),
    ],
)
async def test_a_foreign_transports_connect_error_does_not_resend_a_start(
    error: Exception, cls: type[NetworkError]
) -> None:
    transport = Foreign(error)
    async with on(transport) as flows:
        with pytest.raises(NetworkError) as caught:
            await flows.run_flow(FLOW_ID, {"a": 1})
    assert type(caught.value) is cls
    assert not isinstance(caught.value, ConnectError)
    assert caught.value.attempts == 1
    assert transport.bodies == [b'{"body":{"a":1}}']  # read once, never sent again
    assert "cannot tell whether the request was sent" in str(caught.value)


async def test_a_foreign_transports_connect_error_is_retried_for_a_read() -> None:
    transport = Foreign(httpx.ConnectTimeout("timed out"))
    async with on(transport) as flows:
        with pytest.raises(APITimeoutError) as caught:
            await flows.get_run(RUN_ID)
    assert caught.value.attempts == 3
    assert len(transport.bodies) == 3


async def test_a_foreign_exception_becomes_a_network_error() -> None:
    failure = ClientResponseError("400, message='Bad Request'")
    transport = Foreign(failure)
    async with on(transport) as flows:
        with pytest.raises(NetworkError) as caught:
            await flows.run_flow(FLOW_ID, {})
    assert type(caught.value) is NetworkError
    assert str(caught.value) == (
        f"POST https://flows.automate.globus.org/flows/{FLOW_ID}/run: the transport failed: "
        "ClientResponseError: 400, message='Bad Request'"
    )
    assert caught.value.__cause__ is failure
    assert len(transport.bodies) == 1


async def test_a_foreign_exception_of_a_shared_client_becomes_a_network_error() -> None:
    transport = Foreign(RuntimeError("event loop is closed"))
    async with httpx.AsyncClient(transport=transport) as shared:
        flows = FlowsClient(
            authorizer=TOKEN,
            base_url="https://flows.automate.globus.org",
            http_client=shared,
            retry=FAST,
        )
        with pytest.raises(NetworkError, match="the transport failed: RuntimeError"):
            await flows.get_run(RUN_ID)
    assert len(transport.bodies) == 3  # a read: retried like any lost answer


async def test_a_foreign_exception_quoting_the_token_is_redacted_and_not_chained() -> None:
    transport = Foreign(ClientResponseError(f"server said: Bearer {TOKEN}"))
    async with on(transport, RetryPolicy.disabled()) as flows:
        with pytest.raises(NetworkError) as caught:
            await flows.get_run(RUN_ID)
    assert str(caught.value).endswith("ClientResponseError: server said: <redacted>")
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


async def test_a_pooled_client_through_httpx_keeps_the_proof() -> None:
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.method)

    with refused_port() as port:
        async with pooled_http_client(4) as http:
            http.event_hooks = {"request": [hook]}  # so requests go through httpx
            flows = FlowsClient(
                authorizer=TOKEN, base_url=f"http://127.0.0.1:{port}", http_client=http, retry=FAST
            )
            with pytest.raises(ConnectError) as caught:
                await flows.run_flow(FLOW_ID, {})
    assert caught.value.attempts == 3
    assert seen == ["POST", "POST", "POST"]
