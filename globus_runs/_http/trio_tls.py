"""TLS for the pool's trio connections, on :class:`ssl.MemoryBIO`.

``trio.SSLStream`` keeps what it has received but not yet handed out in private attributes,
and the pool must know whether anything is left past an answer before it reuses a
connection (bytes nobody asked for mean the connection is spent). This stream does the same
work for an HTTP client (a handshake, writes, reads) and says so in :meth:`TLSStream.buffered`.
The stream ends at the server's ``close_notify``; a close without it is raised as
:class:`ssl.SSLEOFError`, so that an answer read until the close is never taken as complete
when it was cut (as h11 and httpcore treat it). TLS failures are raised as
:class:`ssl.SSLError` (an ``OSError``).
"""

from __future__ import annotations

import ssl
from typing import Any

__all__ = ["TLSStream"]

_READ_SIZE = 64 * 1024


class TLSStream:
    """A TLS client session over a trio stream (``trio.SocketStream``); not safe for two tasks
    at once, which the pool never does (one request per connection at a time)."""

    def __init__(self, transport: Any, context: ssl.SSLContext, server_hostname: str) -> None:
        self._transport = transport
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(
            self._incoming, self._outgoing, server_side=False, server_hostname=server_hostname
        )

    async def do_handshake(self) -> None:
        """Run the handshake (certificate and host name checked by the context)."""
        while True:
            try:
                self._tls.do_handshake()
            except ssl.SSLWantReadError:
                await self._flush()
                await self._fill()
                continue
            await self._flush()
            return

    async def send_all(self, data: bytes) -> None:
        """Encrypt ``data`` and send all of it."""
        self._tls.write(data)
        await self._flush()

    async def receive_some(self, max_bytes: int = _READ_SIZE) -> bytes:
        """At least one byte of plaintext, or ``b""`` once the server has ended the stream
        with ``close_notify`` (:class:`ssl.SSLEOFError` when it closed without one)."""
        while True:
            try:
                data = self._tls.read(max_bytes)
            except ssl.SSLWantReadError:
                await self._flush()  # a reply the protocol owes (a key update, say)
                await self._fill()
                continue
            except ssl.SSLZeroReturnError:
                return b""
            return data

    def buffered(self) -> bool:
        """Whether bytes were received that no :meth:`receive_some` has returned yet."""
        return self._incoming.pending > 0 or self._tls.pending() > 0

    async def _flush(self) -> None:
        data = self._outgoing.read()
        if data:
            await self._transport.send_all(data)

    async def _fill(self) -> None:
        data = await self._transport.receive_some(_READ_SIZE)
        if data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()  # the next read or handshake step reports the EOF
