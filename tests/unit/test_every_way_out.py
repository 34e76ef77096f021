"""Hardening that must hold whichever way a request leaves, checked where a way differed.

A shared ``pooled_http_client`` that has hooks sends the library's requests through
``httpx.AsyncClient`` into the pool (``PoolTransport.handle_async_request``): the client's
``max_response_size`` must reach the pool there too, and an answer past it be the library's
own error, as it must be from a foreign transport however its body stream ends. Errors
built from what a server or a foreign transport said must not show a secret the request
carried, whole or cut short.
"""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest

from globus_runs import (
    APITimeoutError,
    FlowsClient,
    InvalidRequestError,
    NetworkError,
    ResponseTooLargeError,
    pooled_http_client,
)

from ..reliability._echo import echo_server
from .test_h1 import answer
from .test_hostile_servers import (
    LIMIT,
    NO_RETRY,
    PATHS,
    RUN_ID,
    Peer,
    RawServer,
    bomb,
    every_request,
    peak_memory,
    repeat,
)

pytestmark = pytest.mark.anyio

#: As long as a Globus access token, so a quote of at most 80 bytes cuts it short.
TOKEN = "Ag" + "x7Q9" * 18


@asynccontextmanager
async def hooked_pool(**options: Any) -> AsyncIterator[FlowsClient]:
    """A ``FlowsClient`` on a shared ``pooled_http_client`` with a request hook: its requests
    go through ``httpx.AsyncClient`` into the pool."""
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.method)

    async with pooled_http_client(4) as http:
        http.event_hooks = {"request": [hook]}
        async with FlowsClient(authorizer="tok", http_client=http, **options) as flows:
            yield flows
    assert seen  # the requests did go through httpx.AsyncClient


def one_byte_chunks(peer: Peer) -> None:
    peer.read_request()
    peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    peer.trickle(repeat(b"1\r\nx\r\n" * 10_000), 0)


def until_close(peer: Peer) -> None:
    peer.read_request()
    peer.send(b"HTTP/1.1 200 OK\r\n\r\n")
    peer.trickle(repeat(b"y" * 60_000), 0)


def deflate_bomb(peer: Peer) -> None:
    every_request(answer(bomb("deflate", 64 << 20), extra=b"Content-Encoding: deflate\r\n"))(peer)


def gzip_bomb(peer: Peer) -> None:
    every_request(answer(bomb("gzip", 64 << 20), extra=b"Content-Encoding: gzip\r\n"))(peer)


@pytest.mark.parametrize("handler", [one_byte_chunks, until_close, deflate_bomb, gzip_bomb])
async def test_a_shared_pool_with_hooks_stops_at_the_clients_limit(
    handler: Callable[[Peer], None],
) -> None:
    with RawServer(handler) as server, peak_memory() as peak, anyio.fail_after(60):
        async with hooked_pool(base_url=server.url, max_response_size=LIMIT) as flows:
            with pytest.raises(ResponseTooLargeError) as caught:
                await flows.get_run(RUN_ID)
    error = caught.value
    assert (error.method, error.url, error.limit) == ("GET", f"{server.url}/runs/{RUN_ID}", LIMIT)
    assert error.attempts == 1  # the same request would get the same answer: not retried
    assert len(server.requests) == 1
    # The pool stopped at the client's limit, not at its own default (32 MiB).
    assert peak[0] < 4 * LIMIT


@asynccontextmanager
async def flows_sending(path: str, url: str) -> AsyncIterator[FlowsClient]:
    """A ``FlowsClient`` with ``TOKEN`` sending the way ``path`` names (see ``PATHS``)."""
    if path == "httpx-client":
        async with (
            httpx.AsyncClient() as http,
            FlowsClient(authorizer=TOKEN, base_url=url, http_client=http, retry=NO_RETRY) as flows,
        ):
            yield flows
        return
    transport = httpx.AsyncHTTPTransport() if path == "httpx-transport" else None
    async with FlowsClient(
        authorizer=TOKEN, base_url=url, transport=transport, retry=NO_RETRY
    ) as flows:
        yield flows


def everything_shown(error: BaseException) -> str:
    return str(error) + repr(error) + "".join(traceback.format_exception(error))


@pytest.mark.parametrize("path", PATHS)
async def test_a_token_echoed_in_a_malformed_header_line_is_not_shown_even_cut_short(
    path: str,
) -> None:
    # The name is not a token (it holds a space): the line is refused, and quoted.
    line = b"X-Echoed Authorization: Bearer " + TOKEN.encode()
    data = b"HTTP/1.1 200 OK\r\n" + line + b"\r\nContent-Length: 2\r\n\r\n{}"
    with (
        RawServer(every_request(data)) as server,
        anyio.fail_after(30),
        pytest.raises(NetworkError) as caught,
    ):
        async with flows_sending(path, server.url) as flows:
            await flows.get_run(RUN_ID)
    assert type(caught.value) is NetworkError
    assert caught.value.url == f"{server.url}/runs/{RUN_ID}"
    assert f"Bearer {TOKEN}".encode() in server.requests[0]
    assert TOKEN[:8] not in everything_shown(caught.value)


class TimesOutQuoting(httpx.AsyncBaseTransport):
    """A foreign transport whose own timeout quotes the request's Authorization header."""

    def __init__(self) -> None:
        self.sent = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        raise TimeoutError(f"no answer to {request.headers['authorization']}")


@pytest.mark.parametrize("path", ["transport", "httpx-client"])
async def test_a_foreign_transports_timeout_is_an_api_timeout_without_the_token(
    path: str,
) -> None:
    transport = TimesOutQuoting()
    base_url = "https://flows.automate.globus.org"
    async with (
        httpx.AsyncClient(transport=transport) as http,
        FlowsClient(
            authorizer=TOKEN,
            base_url=base_url,
            retry=NO_RETRY,
            **({"transport": transport} if path == "transport" else {"http_client": http}),
        ) as flows,
    ):
        with pytest.raises(APITimeoutError) as caught:
            await flows.get_run(RUN_ID)
    assert str(caught.value) == (
        f"GET {base_url}/runs/{RUN_ID}: timed out waiting for the answer: TimeoutError"
    )
    assert caught.value.__cause__ is None  # its text quotes the token
    assert TOKEN not in everything_shown(caught.value)
    assert transport.sent == 1


class ForeignStream(httpx.AsyncByteStream):
    """A foreign transport's body of endless 1000-byte pieces, with its own way of closing.

    ``on_close`` is raised by ``aclose``; after a close, reading raises ``after_close``, or
    (when that is None) goes on as if nothing had happened.
    """

    def __init__(
        self, on_close: Exception | None = None, after_close: Exception | None = None
    ) -> None:
        self.on_close = on_close
        self.after_close = after_close
        self.closed = False
        self.read_after_close = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            await anyio.lowlevel.checkpoint()
            if self.closed:
                if self.after_close is not None:
                    raise self.after_close
                self.read_after_close += 1
            yield b"x" * 1000

    async def aclose(self) -> None:
        self.closed = True
        if self.on_close is not None:
            raise self.on_close


class StreamingTransport(httpx.AsyncBaseTransport):
    def __init__(self, stream: ForeignStream) -> None:
        self.stream = stream
        self.sent = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        return httpx.Response(200, stream=self.stream)


class PayloadError(Exception):
    """Stands in for ``aiohttp.ClientPayloadError``: a foreign error reading a closed body."""


@pytest.mark.parametrize("path", ["transport", "httpx-client"])
@pytest.mark.parametrize(
    "stream",
    [
        pytest.param(lambda: ForeignStream(after_close=PayloadError("closed")), id="raises"),
        pytest.param(lambda: ForeignStream(on_close=RuntimeError("close failed")), id="bad-close"),
        pytest.param(ForeignStream, id="ignores-the-close"),
    ],
)
async def test_a_foreign_body_past_the_limit_ends_as_too_large_however_it_closes(
    path: str, stream: Callable[[], ForeignStream]
) -> None:
    body = stream()
    transport = StreamingTransport(body)
    base_url = "https://flows.automate.globus.org"
    async with httpx.AsyncClient(transport=transport) as http:
        kind: dict[str, Any] = (
            {"transport": transport} if path == "transport" else {"http_client": http}
        )
        async with FlowsClient(
            authorizer="tok", base_url=base_url, timeout=None, max_response_size=10_000, **kind
        ) as flows:
            with anyio.fail_after(30), pytest.raises(ResponseTooLargeError) as caught:
                await flows.get_run(RUN_ID)
    assert (caught.value.url, caught.value.limit) == (f"{base_url}/runs/{RUN_ID}", 10_000)
    assert transport.sent == 1  # not retried
    # Nothing more is read of a body that goes on after it was closed.
    assert body.read_after_close <= 1


@pytest.mark.parametrize("path", PATHS)
async def test_a_token_ending_in_a_space_is_refused_alike_on_every_way(path: str) -> None:
    # httpx (h11) refuses a header value ending in a space with an error of its own; the own
    # pool would send it: refused before any request, whichever way, naming the authorizer.
    token = "tok-SECRET-1 "
    with echo_server() as (url, seen):
        async with AsyncExitStack() as stack:
            options: dict[str, Any] = {}
            if path == "httpx-client":
                options["http_client"] = await stack.enter_async_context(httpx.AsyncClient())
            elif path == "httpx-transport":
                options["transport"] = httpx.AsyncHTTPTransport()
            flows = await stack.enter_async_context(
                FlowsClient(authorizer=token, base_url=url, retry=NO_RETRY, **options)
            )
            with pytest.raises(InvalidRequestError) as caught:
                await flows.get_run(RUN_ID)
    assert "the Authorization header from AccessTokenAuthorizer cannot be sent" in str(caught.value)
    assert "SECRET" not in everything_shown(caught.value)
    assert seen == []
