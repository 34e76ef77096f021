"""Servers that try to exhaust the client's memory or hold a call forever, and servers that
close kept-alive connections under it.

Each server is a raw socket on 127.0.0.1 served by a thread of its own (plain blocking
calls), so it can send exactly the bytes, pauses and closes a hostile or quirky server
would, to the pool on asyncio and on trio and to the httpx path. No test asserts a time:
each is bounded by a generous ``anyio.fail_after`` and uses small timeouts and limits.
"""

from __future__ import annotations

import gzip
import json
import socket
import struct
import threading
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager, suppress
from typing import Any

import anyio
import httpx
import pytest

from globus_runs import (
    APITimeoutError,
    ConfigurationError,
    FlowsClient,
    NetworkError,
    ResponseTooLargeError,
    RetryPolicy,
    ServerError,
    TimersClient,
    pooled_http_client,
)
from globus_runs._body import DEFAULT_MAX_RESPONSE_SIZE
from globus_runs._http import pool_errors as errors
from globus_runs._http.asyncio_conn import _Connection
from globus_runs._http.h1_parser import Origin
from globus_runs._http.readiness import _socket_readable
from globus_runs._http.trio_conn import _TrioConnection
from globus_runs._wire import _EXCERPT

from .._conditions import wait_until
from .test_h1 import RUN_DOCUMENT, TIMEOUTS, answer, get, pool

pytestmark = pytest.mark.anyio

RUN_ID = "00000000-0000-4000-8000-000000000001"
FLOW_ID = "00000000-0000-4000-8000-0000000000f1"
NO_RETRY = RetryPolicy(max_retries=0)


class Peer:
    """One accepted connection: reads requests, sends what the handler wants."""

    def __init__(self, sock: socket.socket, server: RawServer) -> None:
        self.sock = sock
        self.server = server
        self._buffer = b""

    def read_request(self) -> bytes | None:
        """The next request (head and body), or None once the client closed."""
        while b"\r\n\r\n" not in self._buffer:
            data = self.sock.recv(65536)
            if not data:
                return None
            self._buffer += data
        head, _, rest = self._buffer.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            data = self.sock.recv(65536)
            if not data:
                return None
            rest += data
        request, self._buffer = head + b"\r\n\r\n" + rest[:length], rest[length:]
        self.server.requests.append(request)
        return request

    def send(self, data: bytes) -> bool:
        """Send ``data``; False once the client is gone or the test is over."""
        if self.server.stopping.is_set():
            return False
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True

    def trickle(self, pieces: Iterator[bytes], every: float) -> None:
        """Send piece after piece, ``every`` seconds apart, until the client hangs up."""
        for piece in pieces:
            if not self.send(piece) or self.server.stopping.wait(every):
                return


class RawServer:
    """A loopback server calling ``handler(peer)`` for every connection, each in a thread."""

    def __init__(self, handler: Callable[[Peer], None]) -> None:
        self.handler = handler
        self.requests: list[bytes] = []
        self.connections = 0
        self.stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._socks: list[socket.socket] = []
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def origin(self) -> Origin:
        return (b"http", "127.0.0.1", self.port)

    def _accept(self) -> None:
        self._listener.settimeout(0.05)  # a closed listener does not wake a blocked accept
        while not self.stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(20)
            self.connections += 1
            self._socks.append(sock)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            self.handler(Peer(sock, self))
        except OSError:
            pass
        finally:
            sock.close()

    def __enter__(self) -> RawServer:
        accepting = threading.Thread(target=self._accept, daemon=True)
        self._threads.append(accepting)
        accepting.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        self._listener.close()
        for sock in self._socks:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(10)


def every_request(data: bytes) -> Callable[[Peer], None]:
    """A handler answering every request on a connection with ``data``."""

    def handler(peer: Peer) -> None:
        while peer.read_request() is not None:
            if not peer.send(data):
                return

    return handler


def repeat(data: bytes) -> Iterator[bytes]:
    while True:
        yield data


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    """The peak of memory allocated by Python while the block runs (in ``result[0]``)."""
    result = [0]
    tracemalloc.start()
    try:
        yield result
    finally:
        result[0] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def bomb(coding: str, decoded: int) -> bytes:
    """``decoded`` zero bytes, compressed with gzip or deflate (zlib framing)."""
    wbits = 31 if coding == "gzip" else 15
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(1 << 20)
    out = [compressor.compress(block) for _ in range(decoded >> 20)]
    out.append(compressor.flush())
    return b"".join(out)


# 2. Bounded answers.

LIMIT = 1 << 20  # 1 MiB


async def test_a_content_length_past_the_limit_is_refused_before_its_body() -> None:
    def handler(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
        peer.server.stopping.wait(20)

    with RawServer(handler) as server:
        h1 = pool()
        with anyio.fail_after(20), pytest.raises(ResponseTooLargeError) as caught:
            await h1.request(server.origin, b"GET", get(), TIMEOUTS, limit=LIMIT)
        assert h1.connections == 0
        await h1.aclose()
    assert caught.value.limit == LIMIT


@pytest.mark.parametrize(
    "chunk", [pytest.param(4096, id="4-KiB-chunks"), pytest.param(1, id="1-byte-chunks")]
)
async def test_an_endless_chunked_stream_ends_at_the_limit_in_bounded_memory(chunk: int) -> None:
    framed = b"%x\r\n" % chunk + b"x" * chunk + b"\r\n"
    batch = framed * max(1, 60_000 // len(framed))

    def handler(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        peer.trickle(repeat(batch), 0)

    with RawServer(handler) as server:
        h1 = pool()
        with (
            peak_memory() as peak,
            anyio.fail_after(60),
            pytest.raises(ResponseTooLargeError),
        ):
            await h1.request(server.origin, b"GET", get(), TIMEOUTS, limit=LIMIT)
        assert h1.connections == 0
        await h1.aclose()
    # The body and the bytes in flight: a few times the limit at most, never the stream.
    assert peak[0] < 4 * LIMIT


async def test_a_body_read_until_the_close_ends_at_the_limit() -> None:
    def handler(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\n\r\n")
        peer.trickle(repeat(b"y" * 60_000), 0)

    with RawServer(handler) as server:
        h1 = pool()
        with (
            peak_memory() as peak,
            anyio.fail_after(60),
            pytest.raises(ResponseTooLargeError),
        ):
            await h1.request(server.origin, b"GET", get(), TIMEOUTS, limit=LIMIT)
        assert h1.connections == 0
        await h1.aclose()
    assert peak[0] < 4 * LIMIT


async def test_endless_interim_answers_end_at_the_limit() -> None:
    def handler(peer: Peer) -> None:
        peer.read_request()
        peer.trickle(repeat(b"HTTP/1.1 100 Continue\r\n\r\n" * 2000), 0)

    with RawServer(handler) as server:
        h1 = pool()
        with anyio.fail_after(60), pytest.raises(ResponseTooLargeError):
            await h1.request(server.origin, b"GET", get(), TIMEOUTS, limit=LIMIT)
        assert h1.connections == 0
        await h1.aclose()


def nested_bomb() -> bytes:
    """Deflate data of 4 GiB of zeros (cut short), gzipped: some KB on the wire."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 15)
    start = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    # After a full flush a block refers to nothing before it: repeated, it decodes to 1 MiB
    # each time.
    block = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return gzip.compress(start + block * 4095)


@pytest.mark.parametrize(
    ("coding", "build"),
    [
        pytest.param("gzip", lambda: bomb("gzip", 256 << 20), id="gzip"),
        pytest.param("deflate", lambda: bomb("deflate", 256 << 20), id="deflate"),
        pytest.param("deflate, gzip", nested_bomb, id="deflate-then-gzip"),
    ],
)
async def test_a_compression_bomb_ends_at_the_limit_in_bounded_memory(
    coding: str, build: Callable[[], bytes]
) -> None:
    body = build()  # hundreds of MiB or GiB once decoded, much less on the wire
    data = answer(body, extra=b"Content-Encoding: " + coding.encode() + b"\r\n")
    with RawServer(every_request(data)) as server:
        h1 = pool()
        with (
            peak_memory() as peak,
            anyio.fail_after(60),
            pytest.raises(ResponseTooLargeError),
        ):
            await h1.request(server.origin, b"GET", get(), TIMEOUTS, limit=LIMIT)
        assert h1.connections == 0
        await h1.aclose()
    assert peak[0] < 4 * LIMIT + 2 * len(data)


@pytest.mark.parametrize(
    ("coding", "encode"),
    [("identity", lambda data: data), ("gzip", gzip.compress), ("deflate", zlib.compress)],
)
async def test_a_body_of_exactly_the_limit_passes_and_one_byte_more_does_not(
    coding: str, encode: Callable[[bytes], bytes]
) -> None:
    extra = b"Content-Encoding: " + coding.encode() + b"\r\n"
    exact, over = b"z" * 5000, b"z" * 5001
    with RawServer(every_request(answer(encode(exact), extra=extra))) as server:
        h1 = pool()
        with anyio.fail_after(20):
            result = await h1.request(server.origin, b"GET", get(), TIMEOUTS, limit=5000)
        await h1.aclose()
    assert result[2] == exact
    with RawServer(every_request(answer(encode(over), extra=extra))) as server:
        h1 = pool()
        with anyio.fail_after(20), pytest.raises(ResponseTooLargeError):
            await h1.request(server.origin, b"GET", get(), TIMEOUTS, limit=5000)
        await h1.aclose()


#: The ways a client sends: its own pool; a caller's ``httpx.AsyncClient``; an httpx
#: transport given as ``transport=`` (which requests reach without ``httpx.AsyncClient.send``).
PATHS = ["own-pool", "httpx-client", "httpx-transport"]


@asynccontextmanager
async def flows_on(path: str, **options: Any) -> AsyncIterator[FlowsClient]:
    """An open ``FlowsClient`` sending the way ``path`` names."""
    timeout = options.get("timeout", 5.0)
    async with AsyncExitStack() as stack:
        if path == "httpx-client":
            options["http_client"] = await stack.enter_async_context(
                httpx.AsyncClient(timeout=timeout)
            )
        elif path == "httpx-transport":
            options["transport"] = httpx.AsyncHTTPTransport()
        else:
            assert path == "own-pool"
        flows = await stack.enter_async_context(FlowsClient(authorizer="tok", **options))
        yield flows


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "data",
    [
        pytest.param(answer(b"[" + b" " * 20_000 + b"]"), id="plain"),
        pytest.param(
            answer(bomb("gzip", 64 << 20), extra=b"Content-Encoding: gzip\r\n"), id="gzip-bomb"
        ),
    ],
)
async def test_the_clients_limit_applies_on_either_path(path: str, data: bytes) -> None:
    with RawServer(every_request(data)) as server:
        with anyio.fail_after(60):
            async with flows_on(path, base_url=server.url, max_response_size=10_000) as flows:
                with pytest.raises(ResponseTooLargeError) as caught:
                    await flows.get_run(RUN_ID)
                with pytest.raises(ResponseTooLargeError):
                    await flows.get_run(RUN_ID)
    error = caught.value
    assert (error.method, error.url, error.limit) == ("GET", f"{server.url}/runs/{RUN_ID}", 10_000)
    assert error.attempts == 1  # the same request would get the same answer: not retried
    # One request per call, each on a new connection: the one an answer overflowed is dropped.
    assert (len(server.requests), server.connections) == (2, 2)


@pytest.mark.parametrize("size", [0, -1, 1.5, True, "1"])
def test_max_response_size_must_be_a_positive_int(size: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_response_size"):
        FlowsClient(authorizer="tok", max_response_size=size)


async def test_a_timers_client_passes_its_limit_to_the_flows_client_it_builds() -> None:
    async with TimersClient(authorizer="tok", max_response_size=1234) as timers:
        assert timers.flows._transport.max_response_size == 1234


# 3. A deadline per attempt.


def drip(peer: Peer) -> None:
    peer.read_request()
    head = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000
    peer.trickle((head[at : at + 1] for at in range(len(head))), 0.05)


def endless_continue(peer: Peer) -> None:
    peer.read_request()
    peer.trickle(repeat(b"HTTP/1.1 100 Continue\r\n\r\n"), 0.02)


def endless_trailers(peer: Peer) -> None:
    peer.read_request()
    peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n")
    peer.trickle(repeat(b"X-Trailer: more\r\n"), 0.02)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "handler",
    [
        pytest.param(drip, id="a-byte-at-a-time"),
        pytest.param(endless_continue, id="endless-100-continue"),
        pytest.param(endless_trailers, id="endless-trailers"),
    ],
)
async def test_a_server_that_never_finishes_its_answer_times_out_with_the_attempt(
    path: str, handler: Callable[[Peer], None]
) -> None:
    with RawServer(handler) as server:
        with anyio.fail_after(30):
            async with flows_on(path, base_url=server.url, timeout=0.5, retry=NO_RETRY) as flows:
                with pytest.raises(APITimeoutError) as caught:
                    await flows.get_run(RUN_ID)
    assert caught.value.url == f"{server.url}/runs/{RUN_ID}"
    assert len(server.requests) == 1


async def test_the_attempt_deadline_bounds_the_pool_whatever_the_read_timeout() -> None:
    with RawServer(drip) as server:
        h1 = pool()
        with anyio.fail_after(30), pytest.raises(errors.ReadTimeout):
            await h1.request(server.origin, b"GET", get(), {**TIMEOUTS, "read": 10.0}, attempt=0.3)
        assert h1.connections == 0
        await h1.aclose()


# 4. Error bodies in linear time.


async def test_a_huge_body_of_angle_brackets_becomes_a_short_error_message() -> None:
    body = b"<" * 150_000
    data = answer(body, status=b"502 Bad Gateway", extra=b"Content-Type: text/html\r\n")
    with RawServer(every_request(data)) as server:
        with anyio.fail_after(60):
            async with FlowsClient(authorizer="tok", base_url=server.url, retry=NO_RETRY) as flows:
                with pytest.raises(ServerError) as caught:
                    await flows.get_run(RUN_ID)
    assert caught.value.http_status == 502
    assert caught.value.message == "<" * _EXCERPT
    assert len(caught.value.body) == 150_000


# 6. Connections the server just closed.


def answer_then_close(data: bytes) -> Callable[[Peer], None]:
    """A handler answering one request, then closing: the FIN leaves with the answer."""

    def handler(peer: Peer) -> None:
        if peer.read_request() is None:
            return
        # Corked, the answer and the close leave in one segment, as from a server that closes
        # the moment it has answered: the close is there before the client sends again.
        peer.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        peer.send(data)
        peer.sock.close()

    return handler


@pytest.mark.skipif(not hasattr(socket, "TCP_CORK"), reason="needs TCP_CORK (Linux)")
async def test_a_server_closing_after_every_answer_fails_no_run_start() -> None:
    with RawServer(answer_then_close(answer(RUN_DOCUMENT))) as server:
        with anyio.fail_after(120):
            async with FlowsClient(authorizer="tok", base_url=server.url, retry=NO_RETRY) as flows:
                runs = [await flows.run_flow(FLOW_ID, {"n": n}) for n in range(50)]
    assert [run.status for run in runs] == ["ACTIVE"] * 50
    # Every start sent exactly once, each on a connection of its own.
    bodies = [json.loads(request.partition(b"\r\n\r\n")[2]) for request in server.requests]
    assert [body["body"]["n"] for body in bodies] == list(range(50))
    assert server.connections == 50


def one_answer_then_silent_close(first: bytes, then: bytes) -> Callable[[Peer], None]:
    """First connection: answers one request, reads the next and closes without a word."""

    def handler(peer: Peer) -> None:
        if peer.server.connections == 1:
            peer.read_request()
            peer.send(first)
            peer.read_request()
            return  # closed unanswered
        every_request(then)(peer)

    return handler


async def test_a_get_on_a_reused_connection_closed_unanswered_is_sent_once_more() -> None:
    handler = one_answer_then_silent_close(answer(RUN_DOCUMENT), answer(RUN_DOCUMENT))
    with RawServer(handler) as server:
        with anyio.fail_after(30):
            async with FlowsClient(authorizer="tok", base_url=server.url, retry=NO_RETRY) as flows:
                await flows.get_run(RUN_ID)
                run = await flows.get_run(RUN_ID)
    assert run.status == "ACTIVE"
    assert [request.split(b"\r\n")[0] for request in server.requests] == [
        f"GET /runs/{RUN_ID} HTTP/1.1".encode()
    ] * 3
    assert server.connections == 2


async def test_a_run_start_on_a_reused_connection_closed_unanswered_is_not_sent_again() -> None:
    handler = one_answer_then_silent_close(answer(RUN_DOCUMENT), answer(RUN_DOCUMENT))
    with RawServer(handler) as server:
        with anyio.fail_after(30):
            async with FlowsClient(authorizer="tok", base_url=server.url, retry=NO_RETRY) as flows:
                await flows.get_run(RUN_ID)
                with pytest.raises(NetworkError) as caught:
                    await flows.run_flow(FLOW_ID, {"n": 1})
    assert not isinstance(caught.value, APITimeoutError)
    # The server may have started the run before closing: never sent twice.
    assert [request.split(b" ")[0] for request in server.requests] == [b"GET", b"POST"]
    assert server.connections == 1


@pytest.mark.parametrize(
    ("method", "idempotent", "sent", "expected"),
    [
        pytest.param(b"POST", True, 3, b"again", id="post-said-idempotent"),
        pytest.param(b"GET", False, 2, None, id="get-said-not-idempotent"),
    ],
)
async def test_the_caller_says_what_may_be_sent_once_more(
    method: bytes, idempotent: bool, sent: int, expected: bytes | None
) -> None:
    handler = one_answer_then_silent_close(answer(b"first"), answer(b"again"))
    with RawServer(handler) as server:
        h1 = pool()
        request = get(b"/x", method, b"{}")
        with anyio.fail_after(30):
            await h1.request(server.origin, method, request, TIMEOUTS)
            try:
                body: bytes | None = (
                    await h1.request(
                        server.origin, method, request, TIMEOUTS, idempotent=idempotent
                    )
                )[2]
            except errors.RemoteProtocolError:
                body = None  # the server's close reaches the caller
        await h1.aclose()
    assert (body, len(server.requests)) == (expected, sent)


async def test_a_run_start_refused_on_writing_is_sent_on_a_new_connection(
    monkeypatch: pytest.MonkeyPatch, anyio_backend_name: str
) -> None:
    reset = threading.Event()

    def handler(peer: Peer) -> None:
        if peer.server.connections == 1:
            peer.read_request()
            peer.send(answer(RUN_DOCUMENT))
            # Closed with a reset: the client's next write on this connection fails at once.
            peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            peer.sock.close()
            reset.set()
            return
        every_request(answer(RUN_DOCUMENT))(peer)

    # The check before reuse would see the reset; without it the write itself must tell.
    connection_class = _Connection if anyio_backend_name == "asyncio" else _TrioConnection
    monkeypatch.setattr(connection_class, "readable", lambda self: False)
    with RawServer(handler) as server:
        h1 = pool()
        with anyio.fail_after(30):
            await h1.request(server.origin, b"GET", get(), TIMEOUTS)
            (idle,) = h1._idle[server.origin]
            if isinstance(idle, _Connection):
                assert idle.transport is not None
                idle.transport.pause_reading()  # the event loop must not see the reset first
                client_socket = idle.transport.get_extra_info("socket")
            else:
                client_socket = idle._sock
            await anyio.to_thread.run_sync(reset.wait, 10)
            # The reset has reached the client's socket.
            await wait_until(lambda: _socket_readable(client_socket.fileno()))
            post = get(b"/flows/f/run", b"POST", b"{}")
            status, _, body = await h1.request(server.origin, b"POST", post, TIMEOUTS)
        await h1.aclose()
    assert (status, body) == (200, RUN_DOCUMENT)
    assert [request.split(b" ")[0] for request in server.requests] == [b"GET", b"POST"]
    assert server.connections == 2


async def test_a_request_on_a_fresh_connection_closed_unanswered_is_not_sent_again() -> None:
    def handler(peer: Peer) -> None:
        peer.read_request()  # and close without a word

    with RawServer(handler) as server:
        h1 = pool()
        with anyio.fail_after(30), pytest.raises(errors.RemoteProtocolError):
            await h1.request(server.origin, b"GET", get(), TIMEOUTS)
        await h1.aclose()
    assert len(server.requests) == 1


# The shared client's httpx path over the same pool: the pool decodes, httpx must not again.


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
async def test_a_shared_client_gets_a_compressed_body_decoded_once(coding: str) -> None:
    document = RUN_DOCUMENT
    encoded = gzip.compress(document) if coding == "gzip" else zlib.compress(document)
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: {coding}\r\n"
        f"Content-Length: {len(encoded)}\r\n\r\n"
    ).encode()
    with RawServer(every_request(head + encoded)) as server:
        async with pooled_http_client(4) as shared:
            with anyio.fail_after(30):
                response = await shared.get(f"{server.url}/runs/{RUN_ID}")
    assert response.status_code == 200
    assert response.content == RUN_DOCUMENT
    assert "content-encoding" not in response.headers
    # httpx's own list of codings is replaced by the two the pool undoes within its limit.
    assert b"\r\naccept-encoding: gzip, deflate\r\n" in server.requests[0].lower()


async def test_a_shared_client_meets_a_body_too_large_as_an_httpx_error() -> None:
    # Refused on its Content-Length alone, past the pool's default limit.
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (DEFAULT_MAX_RESPONSE_SIZE + 1)
    with RawServer(every_request(head)) as server:
        async with pooled_http_client(4) as shared:
            with anyio.fail_after(30), pytest.raises(httpx.DecodingError, match="limit"):
                await shared.get(f"{server.url}/runs/{RUN_ID}")
