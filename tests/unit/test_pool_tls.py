"""TLS on the pool's connections (on trio, the pool's own memory-BIO stream), end to end."""

from __future__ import annotations

import asyncio
import gc
import ssl

import pytest
import trustme

from globus_runs._http.pool import H1Pool

from .test_h1 import TIMEOUTS, Script, answer, get

pytestmark = pytest.mark.anyio


def contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for 127.0.0.1, and a client context trusting it."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    return server_context, client_context


async def test_a_body_read_until_close_ends_at_a_close_with_close_notify() -> None:
    async def close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: bytes) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end")
        await writer.drain()
        writer.close()
        await writer.wait_closed()  # the TLS shutdown done before the server stops

    server_context, client_context = contexts()
    script = Script(close)
    async with script.running(server_context) as origin:
        h1 = H1Pool(4, client_context)
        status, _, body = await h1.request(origin, b"GET", get(), TIMEOUTS)
        assert (status, body) == (200, b"until the end")
        assert h1.connections == 0  # never reused
        await h1.aclose()


# The scripted server (asyncio, in a thread) may leave its side of a TLS connection the client
# dropped unclosed when it stops: collected here, its warning is about the server, not the pool.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_answers_larger_than_one_tls_record_arrive_whole() -> None:
    big = bytes(range(256)) * 192  # 48 KiB: several TLS records (16 KiB at most each)
    server_context, client_context = contexts()

    async def last(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: bytes) -> None:
        writer.write(answer(b"small"))
        await writer.drain()
        writer.close()
        await writer.wait_closed()  # the TLS shutdown done before the server stops

    script = Script(answer(big), last)
    async with script.running(server_context) as origin:
        h1 = H1Pool(4, client_context)
        assert (await h1.request(origin, b"GET", get(), TIMEOUTS))[2] == big
        assert (await h1.request(origin, b"GET", get(), TIMEOUTS))[2] == b"small"
        await h1.aclose()
    assert script.connections == 1  # kept alive across both
    gc.collect()
