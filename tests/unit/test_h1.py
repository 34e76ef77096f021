"""The HTTP/1.1 pool (``globus_runs._http.pool``) against a scripted loopback server.

Each test scripts what the server answers, byte for byte, to the requests it reads, so the
framing, keep-alive and failure paths are exercised exactly, with the pool on asyncio (its
protocol connections) and on trio (its stream connections). The server is an asyncio server
running in a thread of its own, so it serves either.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import resource
import socket
import ssl
import threading
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
import trio
import trustme
from trio.testing import MockClock

from globus_runs import (
    ConnectError,
    FlowsClient,
    NetworkError,
    ResponseParseError,
    RetryPolicy,
    ServerError,
)
from globus_runs._http import pool_errors as errors
from globus_runs._http.asyncio_conn import _Connection
from globus_runs._http.h1_parser import Origin, _Parser, encode_request
from globus_runs._http.pool import H1Pool
from globus_runs._http.readiness import _socket_readable

from .._conditions import wait_for_thread_event, wait_until

pytestmark = pytest.mark.anyio

TIMEOUTS: dict[str, float | None] = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}
RUN = b'{"run_id": "r1", "status": "SUCCEEDED"}'

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, bytes], Awaitable[None]]


def answer(body: bytes = b"{}", status: bytes = b"200 OK", extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-length: %d\r\n" % len(body) + extra + b"\r\n" + body
    )


class Script:
    """A loopback server answering each request with the next scripted action."""

    def __init__(self, *actions: bytes | Handler) -> None:
        self.actions = list(actions)
        self.requests: list[bytes] = []
        self.connections = 0
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                action = self.actions.pop(0)
                if isinstance(action, bytes):
                    writer.write(action)
                    await writer.drain()
                else:
                    await action(reader, writer, request)
                    if writer.is_closing():
                        return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if writer.is_closing():
                pass  # closed by the handler already, as it meant to
            elif writer.get_extra_info("ssl_object") is not None:
                # A TLS close waits for the client's close_notify, which may never come
                # before the server stops: drop the connection at once.
                writer.transport.abort()
            else:
                writer.close()

    @asynccontextmanager
    async def running(self, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[Origin]:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()

        async def start() -> asyncio.Server:
            return await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=ssl_context)

        async def stop() -> None:
            server.close()
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        server = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
        self.port = server.sockets[0].getsockname()[1]
        scheme = b"https" if ssl_context is not None else b"http"
        try:
            yield (scheme, "127.0.0.1", self.port)
        finally:
            asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()


def get(path: bytes = b"/runs/r1", method: bytes = b"GET", body: bytes | None = None) -> bytes:
    headers = [(b"Host", b"127.0.0.1")]
    if body is not None:
        headers.append((b"Content-Length", b"%d" % len(body)))
    return encode_request(method, path, headers, body)


def pool(size: int = 10, **kwargs: Any) -> H1Pool:
    return H1Pool(size, ssl.create_default_context(), **kwargs)


async def test_a_content_length_answer_and_the_request_bytes() -> None:
    script = Script(answer(RUN, extra=b"X-Request-Id: abc\r\n"))
    async with script.running() as origin:
        h1 = pool()
        data = get(b"/runs/r1?x=1", b"POST", b'{"a": 1}')
        status, headers, body = await h1.request(origin, b"POST", data, TIMEOUTS)
        await h1.aclose()
    assert (status, body) == (200, RUN)
    assert (b"X-Request-Id", b"abc") in headers
    assert script.requests == [
        b'POST /runs/r1?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 8\r\n\r\n{"a": 1}'
    ]


async def dribble(writer: asyncio.StreamWriter, data: bytes) -> None:
    """Write ``data`` a few bytes at a time, so the parser sees every split."""
    for start in range(0, len(data), 3):
        writer.write(data[start : start + 3])
        await writer.drain()
        await asyncio.sleep(0)


async def test_a_chunked_answer_with_extensions_and_trailers_arriving_in_pieces() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1A\r\n, the body arrives in bits\r\n0\r\nTrailer: x\r\n\r\n"
    )

    async def slow(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes) -> None:
        await dribble(writer, chunked)

    script = Script(slow, answer(b"again"))
    async with script.running() as origin:
        h1 = pool()
        first = await h1.request(origin, b"GET", get(), TIMEOUTS)
        second = await h1.request(origin, b"GET", get(), TIMEOUTS)
        await h1.aclose()
    assert first[2] == b"hello, the body arrives in bits"
    assert second[2] == b"again"
    assert script.connections == 1  # the chunked answer left the connection reusable


async def test_interim_answers_are_skipped() -> None:
    script = Script(b"HTTP/1.1 100 Continue\r\n\r\n" + answer(RUN))
    async with script.running() as origin:
        h1 = pool()
        status, _, body = await h1.request(origin, b"GET", get(), TIMEOUTS)
        await h1.aclose()
    assert (status, body) == (200, RUN)


async def test_204_and_head_answers_have_no_body_and_keep_the_connection() -> None:
    script = Script(
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n",
        answer(b"last"),
    )
    async with script.running() as origin:
        h1 = pool()
        assert (await h1.request(origin, b"GET", get(), TIMEOUTS))[::2] == (204, b"")
        head = await h1.request(origin, b"HEAD", get(method=b"HEAD"), TIMEOUTS)
        assert head[::2] == (200, b"")
        assert (await h1.request(origin, b"GET", get(), TIMEOUTS))[2] == b"last"
        await h1.aclose()
    assert script.connections == 1


@pytest.mark.parametrize(
    ("answers", "connections"),
    [
        pytest.param([answer(extra=b"Connection: close\r\n")] * 3, 3, id="connection-close"),
        pytest.param([answer().replace(b"HTTP/1.1", b"HTTP/1.0")] * 3, 3, id="http-1.0"),
        pytest.param(
            # As h11: an HTTP/1.0 answer ends its connection, whatever it says.
            [answer(extra=b"Connection: keep-alive\r\n").replace(b"HTTP/1.1", b"HTTP/1.0")] * 3,
            3,
            id="http-1.0-keep-alive",
        ),
        pytest.param([answer()] * 3, 1, id="http-1.1"),
        pytest.param([answer() + b"stray"] * 3, 3, id="bytes-after-the-answer"),
        pytest.param(
            [b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 9\r\n\r\n0\r\n\r\n"]
            * 3,
            3,
            id="chunked-and-content-length",
        ),
    ],
)
async def test_which_connections_are_reused(answers: list[bytes], connections: int) -> None:
    script = Script(*answers)
    async with script.running() as origin:
        h1 = pool()
        for _ in range(3):
            assert (await h1.request(origin, b"GET", get(), TIMEOUTS))[0] == 200
        await h1.aclose()
    assert script.connections == connections


async def close_after(data: bytes) -> Handler:
    async def action(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes) -> None:
        writer.write(data)
        await writer.drain()
        writer.close()

    return action


async def test_an_answer_without_length_is_read_until_the_server_closes() -> None:
    script = Script(await close_after(b"HTTP/1.1 200 OK\r\n\r\n" + RUN), answer(b"next"))
    async with script.running() as origin:
        h1 = pool()
        assert (await h1.request(origin, b"GET", get(), TIMEOUTS))[2] == RUN
        assert (await h1.request(origin, b"GET", get(), TIMEOUTS))[2] == b"next"
        await h1.aclose()
    assert script.connections == 2


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        pytest.param(b"", "without sending an answer", id="nothing"),
        pytest.param(b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{", "middle", id="half-body"),
        pytest.param(b"HTTP/1.1 200 OK\r\ncont", "middle", id="half-head"),
    ],
)
async def test_a_server_closing_early_is_a_protocol_error_and_the_pool_recovers(
    sent: bytes, message: str
) -> None:
    script = Script(await close_after(sent), answer(b"fine"))
    async with script.running() as origin:
        h1 = pool()
        with pytest.raises(errors.RemoteProtocolError, match=message):
            await h1.request(origin, b"GET", get(), TIMEOUTS)
        assert h1.connections == 0
        assert (await h1.request(origin, b"GET", get(), TIMEOUTS))[2] == b"fine"
        await h1.aclose()


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(b"HTTP/2 200 OK\r\ncontent-length: 0\r\n\r\n", id="version"),
        pytest.param(b"HTTP/1.1 2x0 OK\r\ncontent-length: 0\r\n\r\n", id="status"),
        pytest.param(b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", id="header"),
        pytest.param(b"HTTP/1.1 200 OK\r\n folded first\r\n\r\n", id="folded-first"),
        pytest.param(b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n", id="cl"),
        pytest.param(b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n", id="negative-length"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n", id="chunk-size"
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabcd", id="chunk-end"
        ),
        pytest.param(b"HTTP/1.1 101 Switching\r\n\r\n", id="101"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            id="gzip-transfer-coding",
        ),
        pytest.param(b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\nxx", id="gzip-only"),
        pytest.param(b"HTTP/1.1 200 OK\r\nx: " + b"a" * 70_000, id="huge-head"),
    ],
)
async def test_malformed_answers_are_protocol_errors(sent: bytes) -> None:
    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes) -> None:
        writer.write(sent)
        await writer.drain()
        await asyncio.sleep(1)

    script = Script(hold)
    async with script.running() as origin:
        h1 = pool()
        with pytest.raises(errors.RemoteProtocolError):
            await h1.request(origin, b"GET", get(), TIMEOUTS)
        assert h1.connections == 0
        await h1.aclose()


async def test_a_folded_header_line_continues_the_previous_value() -> None:
    script = Script(b"HTTP/1.1 200 OK\r\nx-note: one\r\n\ttwo\r\ncontent-length: 2\r\n\r\nok")
    async with script.running() as origin:
        h1 = pool()
        _, headers, body = await h1.request(origin, b"GET", get(), TIMEOUTS)
        await h1.aclose()
    assert (b"x-note", b"one two") in headers
    assert body == b"ok"


async def hang(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes) -> None:
    await asyncio.sleep(30)


async def test_a_silent_server_is_a_read_timeout_and_the_connection_is_dropped() -> None:
    script = Script(hang, answer(b"fine"))
    async with script.running() as origin:
        h1 = pool()
        with pytest.raises(errors.ReadTimeout):
            await h1.request(origin, b"GET", get(), {**TIMEOUTS, "read": 0.1})
        assert h1.connections == 0
        assert (await h1.request(origin, b"GET", get(), TIMEOUTS))[2] == b"fine"
        await h1.aclose()
    assert script.connections == 2


@pytest.mark.parametrize(
    "anyio_backend",
    [
        pytest.param(("asyncio", {}), id="asyncio"),
        pytest.param(("trio", {"clock": MockClock()}), id="trio"),
    ],
)
async def test_the_read_timeout_counts_from_the_last_bytes_received(
    anyio_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The event loop's clock moves only when the server says so: before each piece of the
    # answer it is silent for 4 s of that clock (20 s in all), never the read timeout's 5 s.
    # It sends the next piece only once the last one was parsed, so no two silences add up.
    silence = manual_silences(anyio_backend, monkeypatch)
    parsed = parse_signals(monkeypatch)
    head = b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n"

    async def trickle(_: asyncio.StreamReader, w: asyncio.StreamWriter, __: bytes) -> None:
        for piece in (head, b"s", b"l", b"o", b"w"):
            await asyncio.to_thread(silence, 4.0)
            w.write(piece)
            await w.drain()
            await asyncio.to_thread(parsed.acquire, timeout=30)

    script = Script(trickle)
    async with script.running() as origin:
        h1 = pool()
        status, _, body = await h1.request(origin, b"GET", get(), {**TIMEOUTS, "read": 5.0})
        await h1.aclose()
    assert (status, body) == (200, b"slow")


@pytest.mark.parametrize(
    "anyio_backend",
    [
        pytest.param(("asyncio", {}), id="asyncio"),
        pytest.param(("trio", {"clock": MockClock()}), id="trio"),
    ],
)
async def test_a_silence_past_the_read_timeout_after_some_bytes_is_a_read_timeout(
    anyio_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same answer, silent for 6 s of the loop's clock after its head: past the 5 s.
    silence = manual_silences(anyio_backend, monkeypatch)
    parsed = parse_signals(monkeypatch)

    async def stalls(reader: asyncio.StreamReader, w: asyncio.StreamWriter, __: bytes) -> None:
        w.write(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\ns")
        await w.drain()
        await asyncio.to_thread(parsed.acquire, timeout=30)
        await asyncio.to_thread(silence, 6.0)
        await reader.read()  # until the client drops the connection

    script = Script(stalls)
    async with script.running() as origin:
        h1 = pool()
        with pytest.raises(errors.ReadTimeout):
            await h1.request(origin, b"GET", get(), {**TIMEOUTS, "read": 5.0})
        assert h1.connections == 0
        await h1.aclose()


async def test_a_cancelled_request_drops_its_connection_and_the_pool_goes_on() -> None:
    script = Script(hang, answer(b"fine"))
    async with script.running() as origin:
        h1 = pool(1)
        with anyio.move_on_after(0.1) as scope:
            await h1.request(origin, b"GET", get(), TIMEOUTS)
        assert scope.cancelled_caught
        assert h1.connections == 0
        assert (await h1.request(origin, b"GET", get(), TIMEOUTS))[2] == b"fine"
        await h1.aclose()


async def test_at_the_limit_requests_wait_for_a_connection() -> None:
    async def delayed(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes) -> None:
        await asyncio.sleep(0.02)
        writer.write(answer(RUN))
        await writer.drain()

    script = Script(*[delayed] * 12)
    async with script.running() as origin:
        h1 = pool(2)
        results: list[int] = []

        async def one() -> None:
            results.append((await h1.request(origin, b"GET", get(), TIMEOUTS))[0])

        async with anyio.create_task_group() as tg:
            for _ in range(12):
                tg.start_soon(one)
        assert h1.connections == 2
        await h1.aclose()
    assert results == [200] * 12
    assert script.connections == 2


async def test_waiting_past_the_pool_timeout_is_a_pool_timeout() -> None:
    script = Script(hang)
    async with script.running() as origin:
        h1 = pool(1)
        async with anyio.create_task_group() as tg:
            tg.start_soon(h1.request, origin, b"GET", get(), TIMEOUTS)
            await wait_until(lambda: len(script.requests) == 1)  # the one connection is busy
            with pytest.raises(errors.PoolTimeout):
                await h1.request(origin, b"GET", get(), {**TIMEOUTS, "pool": 0.05})
            tg.cancel_scope.cancel()
        assert h1.connections == 0
        await h1.aclose()


async def test_a_cancelled_waiter_passes_its_turn_on() -> None:
    async def delayed(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes) -> None:
        await asyncio.sleep(0.1)
        writer.write(answer(RUN))
        await writer.drain()

    script = Script(delayed, delayed, delayed)
    async with script.running() as origin:
        h1 = pool(1)
        done: list[str] = []

        async def named(name: str) -> None:
            await h1.request(origin, b"GET", get(), TIMEOUTS)
            done.append(name)

        async with anyio.create_task_group() as tg:
            tg.start_soon(named, "first")
            await wait_until(lambda: len(script.requests) == 1)  # "first" holds the connection
            with anyio.move_on_after(0.03):
                await named("cancelled")
            tg.start_soon(named, "third")
        await h1.aclose()
    assert done == ["first", "third"]


async def test_an_idle_connection_closed_by_the_server_is_not_reused(
    anyio_backend_name: str,
) -> None:
    closed = threading.Event()

    async def close_soon(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes) -> None:
        writer.write(answer(b"one"))
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.close()
        await writer.wait_closed()
        closed.set()

    script = Script(close_soon, answer(b"two"))
    async with script.running() as origin:
        h1 = pool()
        assert (await h1.request(origin, b"GET", get(), TIMEOUTS))[2] == b"one"
        await wait_for_thread_event(closed)
        # asyncio reports the close at once; on trio the socket is checked before reuse.
        if anyio_backend_name == "asyncio":
            await wait_until(lambda: h1.connections == 0)
        else:
            assert h1.connections == 1
        assert (await h1.request(origin, b"GET", get(), TIMEOUTS))[2] == b"two"
        await h1.aclose()
    assert script.connections == 2


async def test_connections_idle_past_the_expiry_are_closed() -> None:
    script = Script(answer(), answer())
    async with script.running() as origin:
        h1 = pool(keepalive_expiry=0.0)
        await h1.request(origin, b"GET", get(), TIMEOUTS)
        await anyio.sleep(0.01)
        await h1.request(origin, b"GET", get(), TIMEOUTS)
        await h1.aclose()
    assert script.connections == 2


async def test_at_the_limit_an_idle_connection_to_another_origin_makes_room() -> None:
    first, second = Script(answer(b"a")), Script(answer(b"b"))
    async with first.running() as one, second.running() as two:
        h1 = pool(1)
        assert (await h1.request(one, b"GET", get(), TIMEOUTS))[2] == b"a"
        assert (await h1.request(two, b"GET", get(), TIMEOUTS))[2] == b"b"
        assert h1.connections == 1
        await h1.aclose()


async def test_a_refused_connection_is_a_connect_error() -> None:
    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        h1 = pool()
        with pytest.raises(errors.ConnectError):
            await h1.request((b"http", "127.0.0.1", port), b"GET", get(), TIMEOUTS)
        assert h1.connections == 0


async def test_closing_the_pool_fails_requests_in_flight_and_refuses_new_ones() -> None:
    script = Script(hang)
    async with script.running() as origin:
        h1 = pool()
        async with anyio.create_task_group() as tg:

            async def in_flight() -> None:
                with pytest.raises(errors.RemoteProtocolError):
                    await h1.request(origin, b"GET", get(), TIMEOUTS)

            tg.start_soon(in_flight)
            await wait_until(lambda: len(script.requests) == 1)  # the request is in flight
            await h1.aclose()
        with pytest.raises(errors.ConnectError, match="closed"):
            await h1.request(origin, b"GET", get(), TIMEOUTS)


@pytest.mark.parametrize(
    ("method", "target", "headers"),
    [
        (b"GET", b"/runs/r1\r\nX-Evil: 1", []),
        (b"GET", b"/runs/r1 HTTP/1.1", []),
        (b"GE T", b"/", []),
        (b"GET", b"/", [(b"Authorization", b"Bearer a\r\nX-Evil: 1")]),
        (b"GET", b"/", [(b"X-Bad:", b"v")]),
        (b"GET", b"/", [(b"", b"v")]),
        (b"GET", b"/", [(b"X-A", b"a\nb")]),
        (b"GET", b"/", [(b"X-A", b"a\rb")]),
        (b"GET", b"/", [(b"X-A", b"a\0b")]),
        (b"GET", b"/", [(b"X\nA", b"v")]),
        (b"GET", b"/\0", []),
        (b"G\rET", b"/", []),
    ],
)
def test_requests_with_line_breaks_are_refused(
    method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    with pytest.raises(errors.LocalProtocolError):
        encode_request(method, target, headers, None)


def test_a_body_may_hold_any_bytes() -> None:
    body = b'{"a": "\r\n\0"}\r\n\r\n'
    assert encode_request(b"POST", b"/x", [(b"Host", b"h")], body) == (
        b"POST /x HTTP/1.1\r\nHost: h\r\n\r\n" + body
    )


async def test_https_with_a_trusted_certificate() -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    script = Script(answer(RUN), answer(RUN))
    async with script.running(server_context) as origin:
        h1 = H1Pool(4, client_context)
        for _ in range(2):
            assert (await h1.request(origin, b"GET", get(), TIMEOUTS))[2] == RUN
        await h1.aclose()
        untrusted = H1Pool(4, ssl.create_default_context())
        with pytest.raises(errors.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await untrusted.request(origin, b"GET", get(), TIMEOUTS)
    assert script.connections == 1  # kept alive; the untrusting client never got past TLS


# Through a client: the headers it sends, the encodings it undoes.

RUN_DOCUMENT = (
    b'{"run_id": "00000000-0000-4000-8000-000000000001", "flow_id": "f", "status": "ACTIVE"}'
)


async def client_get(*actions: bytes | Handler) -> tuple[Script, Any]:
    """A ``FlowsClient`` on its own pool gets one run from ``Script(*actions)``."""
    script = Script(*actions)
    async with script.running() as origin:
        flows = FlowsClient(authorizer="tok", base_url=f"http://127.0.0.1:{origin[2]}")
        async with flows:
            try:
                return script, await flows.get_run("00000000-0000-4000-8000-000000000001")
            except ResponseParseError as exc:
                return script, exc


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        (b"gzip", gzip.compress),
        (b"deflate", zlib.compress),
        (b"deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, no zlib header
        (b"identity", lambda data: data),
    ],
)
async def test_the_client_asks_for_and_undoes_compression(
    encoding: bytes, encode: Callable[[bytes], bytes]
) -> None:
    body = encode(RUN_DOCUMENT)
    script, run = await client_get(answer(body, extra=b"Content-Encoding: " + encoding + b"\r\n"))
    assert run.status == "ACTIVE"
    request = script.requests[0]
    assert request.startswith(b"GET /runs/00000000-0000-4000-8000-000000000001 HTTP/1.1\r\n")
    for header in (
        b"Host: 127.0.0.1:%d" % script.port,
        b"Authorization: Bearer tok",
        b"Accept: application/json",
        b"Accept-Encoding: gzip, deflate",
    ):
        assert header in request.split(b"\r\n")


@pytest.mark.parametrize("encoding", [b"gzip", b"deflate"])
async def test_an_empty_encoded_body_is_an_empty_body(encoding: bytes) -> None:
    script = Script(
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\ncontent-encoding: "
        + encoding
        + b"\r\n\r\n"
    )
    async with script.running() as origin:
        retry = RetryPolicy(max_retries=0)
        url = f"http://127.0.0.1:{origin[2]}"
        async with FlowsClient(authorizer="tok", base_url=url, retry=retry) as flows:
            with pytest.raises(ServerError) as caught:
                await flows.get_run("00000000-0000-4000-8000-000000000001")
    assert caught.value.http_status == 503


async def test_a_post_without_a_body_says_its_length_is_zero() -> None:
    script = Script(answer(RUN_DOCUMENT))
    async with script.running() as origin:
        url = f"http://127.0.0.1:{origin[2]}"
        async with FlowsClient(authorizer="tok", base_url=url) as flows:
            await flows.cancel_run("00000000-0000-4000-8000-000000000001")
    head = script.requests[0].split(b"\r\n")
    assert head[0] == b"POST /runs/00000000-0000-4000-8000-000000000001/cancel HTTP/1.1"
    assert b"Content-Length: 0" in head


async def test_a_bad_host_name_reaches_the_caller_as_a_connect_error() -> None:
    retry = RetryPolicy(max_retries=0)
    async with FlowsClient(authorizer="t", base_url="https://a..localhost:9", retry=retry) as flows:
        with pytest.raises(ConnectError):
            await flows.get_run("00000000-0000-4000-8000-000000000001")


@pytest.mark.parametrize(
    ("encoding", "body", "message"),
    [
        (b"br", RUN_DOCUMENT, "not asked for"),
        (b"gzip", b"not gzip at all", "not valid gzip"),
    ],
)
async def test_a_body_that_cannot_be_decoded_is_a_parse_error(
    encoding: bytes, body: bytes, message: str
) -> None:
    _, error = await client_get(answer(body, extra=b"Content-Encoding: " + encoding + b"\r\n"))
    assert isinstance(error, ResponseParseError)
    assert message in str(error)


async def test_a_proxy_in_the_environment_carries_the_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    # The proxy refuses the tunnel: what it was asked for shows the request went to it.
    proxy = Script(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
    async with proxy.running() as origin:
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{origin[2]}")
        retry = RetryPolicy.disabled()
        base_url = "https://flows.example.org"
        async with FlowsClient(authorizer="tok", base_url=base_url, retry=retry) as flows:
            with pytest.raises(NetworkError):
                await flows.get_run("00000000-0000-4000-8000-000000000001")
    assert proxy.requests[0].startswith(b"CONNECT flows.example.org:443 HTTP/1.1\r\n")


async def test_server_closed_idle_connections_to_another_origin_free_no_room_twice(
    anyio_backend_name: str,
) -> None:
    # The connection to the first origin closes while idle; at the limit, requests to the
    # second origin must not count its leftover entry as room: never more than the limit.
    closed = threading.Event()

    async def answer_then_close(
        _: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes
    ) -> None:
        writer.write(answer(b"x"))
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.close()
        await writer.wait_closed()
        closed.set()

    async def slow(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes) -> None:
        await asyncio.sleep(0.1)
        writer.write(answer(b"y"))
        await writer.drain()

    first, second = Script(answer_then_close), Script(*[slow] * 6)
    async with first.running() as one, second.running() as two:
        h1 = pool(2)
        await h1.request(one, b"GET", get(), TIMEOUTS)
        await wait_for_thread_event(closed)
        if anyio_backend_name == "asyncio":  # trio learns of the close only on a reuse
            await wait_until(lambda: (h1.connections, h1.idle) == (0, 0))
        peak = 0

        async def fetch() -> None:
            nonlocal peak
            await h1.request(two, b"GET", get(), TIMEOUTS)
            peak = max(peak, h1.connections)

        async with anyio.create_task_group() as tg:
            for _ in range(6):
                tg.start_soon(fetch)
            await anyio.sleep(0.05)
            peak = max(peak, h1.connections)
        await h1.aclose()
    assert peak == 2
    assert second.connections == 2


async def test_an_idle_connection_closed_unnoticed_is_checked_before_reuse(
    anyio_backend_name: str,
) -> None:
    if anyio_backend_name != "asyncio":
        pytest.skip("asyncio's connections only: trio reports no close of an idle socket")

    closed = threading.Event()

    async def answer_then_close(
        _: asyncio.StreamReader, writer: asyncio.StreamWriter, __: bytes
    ) -> None:
        writer.write(answer(b"one"))
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.close()
        await writer.wait_closed()
        closed.set()

    script = Script(answer_then_close, answer(b"two"))
    async with script.running() as origin:
        h1 = pool()
        assert (await h1.request(origin, b"GET", get(), TIMEOUTS))[2] == b"one"
        # Stop reading, so the event loop cannot report the server's close.
        (idle,) = h1._idle[origin]
        assert isinstance(idle, _Connection)
        assert idle.transport is not None
        idle.transport.pause_reading()
        await wait_for_thread_event(closed)
        assert not idle.closed  # the close is not known yet...
        # ...but a look at the socket finds it, and the request goes on a new connection.
        assert (await h1.request(origin, b"GET", get(), TIMEOUTS))[2] == b"two"
        assert idle.closed
        await h1.aclose()
    assert script.connections == 2


async def test_http_1_0_with_transfer_encoding_is_never_reused() -> None:
    chunked_10 = (
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nhi\r\n0\r\n\r\n"
    )
    script = Script(chunked_10, chunked_10)
    async with script.running() as origin:
        h1 = pool()
        for _ in range(2):
            assert (await h1.request(origin, b"GET", get(), TIMEOUTS))[2] == b"hi"
        await h1.aclose()
    assert script.connections == 2


async def test_a_host_name_the_resolver_refuses_is_a_connect_error() -> None:
    h1 = pool()
    for host in ("a" * 64 + ".localhost", "a..localhost"):
        with pytest.raises(errors.ConnectError):
            await h1.request((b"http", host, 9), b"GET", get(), TIMEOUTS)
    assert h1.connections == 0


class _RecordServer:
    """A blocking TLS server (its own thread) that can send several TLS records in one write.

    For each request it reads, it sends the next tuple of answers, each answer a record of its
    own, all in one ``sendall``: answers the client did not ask for arrive with one it did.
    """

    def __init__(self, context: ssl.SSLContext, script: list[tuple[bytes, ...]]) -> None:
        self.context, self.script = context, script
        self.requests: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with self.listener:
            while self.script:
                try:
                    sock, _ = self.listener.accept()
                except OSError:
                    return
                threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = self.context.wrap_bio(incoming, outgoing, server_side=True)

        def flush() -> None:
            if data := outgoing.read():
                sock.sendall(data)

        def fill() -> None:
            data = sock.recv(65536)
            if not data:
                raise EOFError
            incoming.write(data)

        received = b""
        with sock:
            try:
                while True:
                    try:
                        tls.do_handshake()
                        flush()
                        break
                    except ssl.SSLWantReadError:
                        flush()
                        fill()
                while self.script:
                    while b"\r\n\r\n" not in received:
                        try:
                            received += tls.read(65536)
                        except ssl.SSLWantReadError:
                            flush()
                            fill()
                    head, _, received = received.partition(b"\r\n\r\n")
                    self.requests.append(head.split(b"\r\n")[0])
                    for record in self.script.pop(0):
                        tls.write(record)
                    flush()
            except (EOFError, OSError, ssl.SSLError):
                return

    def close(self) -> None:
        self.listener.close()


async def test_answers_nobody_asked_for_inside_tls_records_retire_the_connection() -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    server = _RecordServer(
        server_context, [(answer(b"first"), answer(b"not asked for")), (answer(b"second"),)]
    )
    try:
        h1 = H1Pool(4, client_context)
        origin: Origin = (b"https", "127.0.0.1", server.port)
        assert (await h1.request(origin, b"GET", get(b"/1"), TIMEOUTS))[2] == b"first"
        await anyio.sleep(0.1)
        # Never the stray answer: the second request goes on a new connection.
        assert (await h1.request(origin, b"GET", get(b"/2"), TIMEOUTS))[2] == b"second"
        await h1.aclose()
    finally:
        server.close()
    assert server.requests == [b"GET /1 HTTP/1.1", b"GET /2 HTTP/1.1"]


def test_readiness_is_checked_on_descriptors_past_1024() -> None:
    limit, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1100
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip("this machine allows too few open files")
    if limit != resource.RLIM_INFINITY and limit < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    left, right = socket.socketpair()
    high = os.dup2(left.fileno(), 1050)
    try:
        assert not _socket_readable(high)  # idle: nothing to read
        right.sendall(b"x")
        assert _socket_readable(high)
    finally:
        os.close(high)
        left.close()
        right.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


def manual_loop_clock(
    anyio_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> Callable[[float], None]:
    """Stop the running event loop's clock (trio's runs on the ``MockClock`` given by
    ``anyio_backend``); the function returned moves it (on the loop's thread)."""
    if anyio_backend[0] == "trio":
        jump: Callable[[float], None] = trio.lowlevel.current_clock().jump  # type: ignore[attr-defined]
        return jump
    loop = asyncio.get_running_loop()
    offset = [loop.time()]
    monkeypatch.setattr(loop, "time", lambda: offset[0])

    def move(seconds: float) -> None:
        offset[0] += seconds

    return move


def manual_silences(anyio_backend: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Stop the running event loop's clock; the function returned, called from a server's
    thread, moves it and returns once the loop has acted on the time passed (its timers run,
    its expired deadlines cancelled): a silence of the server by that clock."""
    jump = manual_loop_clock(anyio_backend, monkeypatch)
    if anyio_backend[0] == "trio":
        token = trio.lowlevel.current_trio_token()

        def after_timers(callback: Callable[[], object]) -> None:
            # Deadlines are expired before the woken tasks (this callback's among them) run.
            token.run_sync_soon(callback)
    else:
        loop = asyncio.get_running_loop()

        def after_timers(callback: Callable[[], object]) -> None:
            # Run on the next pass of the loop, after the timers now due have run.
            loop.call_soon_threadsafe(loop.call_soon, callback)

    def silence(seconds: float) -> None:
        jump(seconds)
        seen = threading.Event()
        after_timers(seen.set)
        assert seen.wait(30)

    return silence


def parse_signals(monkeypatch: pytest.MonkeyPatch) -> threading.Semaphore:
    """A semaphore released each time the parser has taken a piece of an answer."""
    parsed = threading.Semaphore(0)
    feed = _Parser.feed

    def signalling_feed(self: _Parser, data: bytes) -> bool:
        done = feed(self, data)
        parsed.release()
        return done

    monkeypatch.setattr(_Parser, "feed", signalling_feed)
    return parsed


@pytest.mark.parametrize(
    "anyio_backend",
    [
        pytest.param(("asyncio", {}), id="asyncio"),
        pytest.param(("trio", {"clock": MockClock()}), id="trio"),
    ],
)
async def test_time_spent_parsing_is_not_counted_as_the_servers_silence(
    anyio_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The event loop's clock moves only when the parser says so: each piece of the answer
    # takes 10 s to parse against a read timeout of 5 s, and the server sends the next piece
    # only once the last one was parsed, so it is never silent for a moment of that clock.
    jump = manual_loop_clock(anyio_backend, monkeypatch)
    parsed = threading.Semaphore(0)
    feed = _Parser.feed
    pieces: list[bytes] = []

    def slow_feed(self: _Parser, data: bytes) -> bool:
        pieces.append(data)
        jump(10.0)
        done = feed(self, data)
        parsed.release()
        return done

    monkeypatch.setattr(_Parser, "feed", slow_feed)
    head = b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n"

    async def one_piece_per_parse(
        _: asyncio.StreamReader, w: asyncio.StreamWriter, __: bytes
    ) -> None:
        for piece in (head, b"s", b"l", b"o", b"w"):
            w.write(piece)
            await w.drain()
            await asyncio.to_thread(parsed.acquire, timeout=30)

    script = Script(one_piece_per_parse)
    async with script.running() as origin:
        h1 = pool()
        status, _, body = await h1.request(origin, b"GET", get(), {**TIMEOUTS, "read": 5.0})
        await h1.aclose()
    assert (status, body) == (200, b"slow")
    assert pieces == [head, b"s", b"l", b"o", b"w"]  # five parses of 10 s each
