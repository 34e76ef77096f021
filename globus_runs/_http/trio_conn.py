"""One HTTP/1.1 connection on trio: one write of the request, then reads of a trio stream fed
to the same parser as on asyncio (TLS by :mod:`.trio_tls`, which sees a missing
``close_notify``)."""

from __future__ import annotations

import os
import ssl
from typing import TYPE_CHECKING, Any

import anyio

from .h1_parser import _READ_SIZE, Answer, Origin, _Parser, _Unanswered, _Unsent
from .pool_errors import ConnectError, ReadTimeout, RemoteProtocolError, WriteTimeout
from .readiness import _Readiness
from .sender import _within
from .trio_tls import TLSStream

if TYPE_CHECKING:
    from .pool import H1Pool

__all__ = ["_TrioConnection"]


class _TrioConnection:
    """One HTTP/1.1 connection on trio: a write, then reads fed to the parser."""

    def __init__(self, pool: H1Pool, origin: Origin, stream: Any, sock: Any) -> None:
        self.pool = pool
        self.origin = origin
        self.closed = False
        self.idle_since = 0.0
        self.used = False
        self.reusable = False
        self._stream = stream
        self._sock = sock
        self._readiness: _Readiness | None = None

    @classmethod
    async def open(
        cls, pool: H1Pool, origin: Origin, tls: ssl.SSLContext | None
    ) -> _TrioConnection:
        import trio

        _, host, port = origin
        tcp = await trio.open_tcp_stream(host, port)
        stream: Any = tcp
        try:
            if tls is not None:
                stream = TLSStream(tcp, tls, server_hostname=host)
                await stream.do_handshake()
        except trio.BrokenResourceError as exc:  # the connection failed during the handshake
            tcp.socket.close()
            raise ConnectError(f"{host}:{port}: {exc.__cause__ or exc!r}") from exc
        except BaseException:
            tcp.socket.close()
            raise
        return cls(pool, origin, stream, tcp.socket)

    async def send(
        self,
        method: bytes,
        data: bytes,
        timeouts: dict[str, float | None],
        limit: int,
        deadline: float | None,
    ) -> Answer:
        """Write ``data`` and read the whole answer; close the connection on any failure."""
        import trio

        if self.closed:
            raise _Unsent("connection closed before the request was sent")
        parser = _Parser(method, limit)
        self.reusable = False
        stream = self._stream
        writing = True
        now = trio.current_time
        try:
            with anyio.fail_after(_within(timeouts.get("write"), deadline, now())):
                await stream.send_all(data)
            writing = False
            read_timeout = timeouts.get("read")
            while True:
                with anyio.fail_after(_within(read_timeout, deadline, now())):
                    chunk = await stream.receive_some(_READ_SIZE)
                if not chunk:
                    answer = parser.at_eof()
                    self.abort()
                    return answer
                if parser.feed(chunk):
                    # Bytes past the answer, still in the TLS layer: not a connection to trust.
                    self.reusable = parser.reusable and not self._buffered()
                    return parser.answer()
        except TimeoutError:
            self.abort()
            if writing:
                raise WriteTimeout("timed out sending the request") from None
            raise ReadTimeout("timed out waiting for the answer") from None
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self.abort()
            if writing:
                # Refused on writing: the server had closed the connection before the request
                # (a whole one) reached it.
                raise _Unsent(f"connection lost while sending: {exc!r}") from exc
            error = RemoteProtocolError if parser.received else _Unanswered
            raise error(f"connection lost: {exc!r}") from exc
        except BaseException:
            self.abort()
            raise

    def readable(self) -> bool:
        """Whether there is something to read (a close, stray bytes) right now."""
        if self._buffered():
            return True
        readiness = self._readiness
        if readiness is None:
            readiness = self._readiness = _Readiness(self._sock.fileno())
        return readiness.ready()

    def _buffered(self) -> bool:
        """Bytes already received but not read: TLS records held past the answer.

        The TLS stream decrypts one record per read and keeps the rest in its memory BIO,
        where the socket no longer shows them.
        """
        return isinstance(self._stream, TLSStream) and self._stream.buffered()

    def abort(self) -> None:
        self.reusable = False
        if not self.closed:
            self.closed = True
            try:
                self._sock.close()  # trio's close is immediate and wakes any task reading it
            except RuntimeError:  # outside a trio run (a pool abandoned by another run)
                os.close(self._sock.detach())
            self.pool.forget(self)
