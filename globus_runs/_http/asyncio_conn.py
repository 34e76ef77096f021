"""One HTTP/1.1 connection on asyncio: a request goes out in one write, and the answer is
parsed in the protocol's ``data_received`` as it arrives (one wait on the event loop per
request). :class:`_TLSConnection` does TLS on :class:`ssl.MemoryBIO`, so that a close without
the server's ``close_notify`` is seen (a body cut short is an error, not an answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import TYPE_CHECKING

import anyio

from .h1_parser import _READ_SIZE, Answer, Origin, _Parser, _Unsent
from .pool_errors import (
    ReadTimeout,
    RemoteProtocolError,
    WriteError,
    WriteTimeout,
)
from .readiness import _Readiness
from .sender import _earliest, _within

if TYPE_CHECKING:
    from .pool import H1Pool

__all__ = ["_Connection", "_TLSConnection"]


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection on asyncio: sends a request, parses the answer as it arrives."""

    def __init__(self, pool: H1Pool, origin: Origin) -> None:
        assert pool.loop is not None
        self.pool = pool
        self.origin = origin
        self.loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        #: Whether a request completed on this connection before (it came from the idle list).
        self.used = False
        self._waiter: asyncio.Future[Answer] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._paused = False
        self._read_timeout: float | None = None
        self._deadline: float | None = None
        self._last_data = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._parser = _Parser(b"GET")
        self._readiness: _Readiness | None = None
        self.reusable = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            # Bytes nobody asked for: whatever the server meant, this connection is spent.
            self.abort()
            return
        parser = self._parser
        try:
            done = parser.feed(data)
        except Exception as exc:  # a malformed answer, or one too large
            self._fail(exc)
            return
        # The read timeout measures the server's silence: its clock starts again once these
        # bytes are parsed, so the time spent parsing them is never counted against the server.
        self._last_data = self.loop.time()
        if done:
            self.reusable = parser.reusable
            waiter.set_result(parser.answer())

    def eof_received(self) -> bool:
        return False  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.transport = None
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            self.reusable = False
            try:
                waiter.set_result(self._parser.at_eof(exc))
            except Exception as error:
                waiter.set_exception(error)
        drained = self._drained
        if drained is not None and not drained.done():
            drained.set_exception(WriteError(f"connection lost while sending: {exc}"))
        self.pool.forget(self)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        drained = self._drained
        if drained is not None and not drained.done():
            drained.set_result(None)

    # The request.

    async def send(
        self,
        method: bytes,
        data: bytes,
        timeouts: dict[str, float | None],
        limit: int,
        deadline: float | None,
    ) -> Answer:
        """Write ``data`` and wait for the whole answer; close the connection on any failure."""
        transport = self.transport
        if transport is None or self.closed:
            raise _Unsent("connection closed before the request was sent")
        self._parser = _Parser(method, limit)
        self.reusable = False
        loop = self.loop
        waiter: asyncio.Future[Answer] = loop.create_future()
        self._waiter = waiter
        try:
            self._write(transport, data)
            if transport.is_closing():
                # The write itself failed (the server had reset the connection): not a byte
                # of the request was taken.
                raise _Unsent("connection closed before the request was sent")
            if self._paused:
                await self._drain(_within(timeouts.get("write"), deadline, loop.time()))
            now = self._last_data = loop.time()
            read_timeout = self._read_timeout = timeouts.get("read")
            self._deadline = deadline
            if read_timeout is not None or deadline is not None:
                self._timer = loop.call_at(
                    _earliest(read_timeout, now, deadline), self._check_timeout
                )
            answer = await waiter
        except BaseException:
            # Cancelled or failed part-way: the connection's state is unknown, never reuse it.
            self.reusable = False
            self.abort()
            raise
        finally:
            self._waiter = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        return answer

    async def _drain(self, timeout: float | None) -> None:
        drained: asyncio.Future[None] = self.loop.create_future()
        self._drained = drained
        try:
            with anyio.fail_after(timeout):
                await drained
        except TimeoutError:
            raise WriteTimeout("timed out sending the request") from None
        finally:
            self._drained = None

    def _check_timeout(self) -> None:
        self._timer = None
        waiter, timeout, deadline = self._waiter, self._read_timeout, self._deadline
        if waiter is None or waiter.done():
            return
        now = self.loop.time()
        if deadline is not None and now >= deadline:
            waiter.set_exception(ReadTimeout("the attempt's time is up"))
            self.abort()
        elif timeout is not None and now - self._last_data >= timeout:
            waiter.set_exception(ReadTimeout("timed out waiting for the answer"))
            self.abort()
        else:
            self._timer = self.loop.call_at(
                _earliest(timeout, self._last_data, deadline), self._check_timeout
            )

    def _write(self, transport: asyncio.Transport, data: bytes) -> None:
        transport.write(data)

    def _fail(self, exc: Exception) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.abort()

    def readable(self) -> bool:
        """Whether the socket has something to read (a close, or stray bytes) right now."""
        readiness = self._readiness
        if readiness is None:
            transport = self.transport
            sock = transport.get_extra_info("socket") if transport is not None else None
            if sock is None:
                return True
            readiness = self._readiness = _Readiness(sock.fileno())
        return readiness.ready()

    def abort(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.abort()
        self.closed = True


class _TLSConnection(_Connection):
    """An asyncio connection whose TLS is done here, on :class:`ssl.MemoryBIO`.

    asyncio's own TLS layer reports a close without the server's ``close_notify`` just as
    one with it; here the difference is known, so that an answer read until the close is
    never taken as complete when it was cut (as h11 and httpcore treat it).
    """

    def __init__(self, pool: H1Pool, origin: Origin, context: ssl.SSLContext) -> None:
        super().__init__(pool, origin)
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(
            self._incoming, self._outgoing, server_side=False, server_hostname=origin[1]
        )
        self._handshake: asyncio.Future[None] = self.loop.create_future()
        self._close_notify = False

    async def handshake(self) -> None:
        """Wait for the handshake (certificate and host name checked by the context)."""
        await self._handshake

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._advance_handshake()

    def _advance_handshake(self) -> None:
        try:
            self._tls.do_handshake()
        except ssl.SSLWantReadError:
            self._flush()
            return
        except (ssl.SSLError, OSError) as exc:
            self._flush()  # the alert that tells the server why
            if not self._handshake.done():
                self._handshake.set_exception(exc)
            return
        self._flush()
        if not self._handshake.done():
            self._handshake.set_result(None)

    def _flush(self) -> None:
        data = self._outgoing.read()
        if data and self.transport is not None:
            self.transport.write(data)

    def _write(self, transport: asyncio.Transport, data: bytes) -> None:
        self._tls.write(data)
        self._flush()

    def data_received(self, data: bytes) -> None:
        self._incoming.write(data)
        if not self._handshake.done():
            self._advance_handshake()
            if not self._handshake.done() or self._handshake.exception() is not None:
                return
        plain = []
        while True:
            try:
                chunk = self._tls.read(_READ_SIZE)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                self._end_session()
                break
            except ssl.SSLError as exc:  # a record that does not decrypt, an alert
                self._flush()
                self._fail(RemoteProtocolError(f"TLS failed: {exc}"))
                return
            if not chunk:  # close_notify (how the ssl module reports it once received)
                self._end_session()
                break
            plain.append(chunk)
        self._flush()  # what the session owes the server (a key update, say)
        if plain:
            super().data_received(b"".join(plain))

    def _end_session(self) -> None:
        """The server sent close_notify: answer it and close (the server may wait for it)."""
        self._close_notify = True
        # Our close_notify in reply; the close follows whether or not that works.
        with contextlib.suppress(ssl.SSLError):
            self._tls.unwrap()
        self._flush()
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._handshake.done():
            self._handshake.set_exception(
                exc or ConnectionResetError("the server closed the connection during the handshake")
            )
        if exc is None and not self._close_notify:
            exc = ssl.SSLEOFError("the server closed the connection without close_notify")
        super().connection_lost(exc)
