"""The library's one HTTP/1.1 implementation: a lean connection pool, on asyncio and on trio.

Every request of a client that makes its own connection pool, or that shares a
``pooled_http_client()``, goes through this module: straight from the transport, or through
``httpx.AsyncClient`` and the httpx transport over the same pool (``_transport.PoolTransport``).
It does what this library's requests need and nothing else: a request whose headers and body
are already bytes goes out in one write, and the answer is parsed as it arrives (in the
protocol's ``data_received`` on asyncio, from a trio stream's reads on trio), so a request
costs one wait on the event loop and no other task switch. Under a batch of a hundred
requests in flight that is what keeps a latency-bound service's round trips from stretching.

Framing follows RFC 9112: interim ``1xx`` answers are skipped, ``204``/``304`` and answers to
``HEAD`` have no body, ``Transfer-Encoding: chunked`` (trailers read and dropped) takes
precedence over ``Content-Length`` (and the connection is closed after such an answer), any
other transfer coding is refused, and an answer with neither is read until the server
closes. A connection is reused only after a complete answer that allows it (HTTP/1.1 without
``Connection: close``; HTTP/1.0 with ``keep-alive``) and with no stray bytes after it.

Failures are raised as the pool's own exception classes (``globus_runs._pool_errors``).
"""

from __future__ import annotations

import asyncio
import os
import select
import ssl
from collections import deque
from collections.abc import Callable
from typing import Any

import anyio

from ._pool_errors import (
    ConnectError,
    ConnectTimeout,
    LocalProtocolError,
    PoolTimeout,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    WriteError,
    WriteTimeout,
)
from ._trio_tls import TLSStream

__all__ = ["Answer", "H1Pool", "encode_request"]

#: Status, headers (name and value as received) and body of one answer.
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
Origin = tuple[bytes, str, int]

_MAX_HEAD = 64 * 1024
_READ_SIZE = 64 * 1024
_MAX_LINE = 8 * 1024
_KEEPALIVE_EXPIRY = 5.0
# An idle connection older than this is checked for a close the event loop has not reported.
_RECHECK_AFTER = 0.5
_HEX = frozenset(b"0123456789abcdefABCDEF")

# Parser states.
_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _TRAILERS, _UNTIL_CLOSE, _DONE = range(7)


def _bad_byte(value: bytes) -> bool:
    return b"\r" in value or b"\n" in value or b"\0" in value


def encode_request(
    method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes | None
) -> bytes:
    """One request as bytes; refuses a line break or NUL in any part (header injection)."""
    if _bad_byte(method) or _bad_byte(target) or b" " in target or b" " in method:
        raise LocalProtocolError("invalid request line")
    lines = [method, b" ", target, b" HTTP/1.1\r\n"]
    for name, value in headers:
        if _bad_byte(name) or _bad_byte(value) or b":" in name or not name:
            raise LocalProtocolError(f"invalid header {name[:40]!r}")
        lines += (name, b": ", value, b"\r\n")
    lines.append(b"\r\n")
    if body:
        lines.append(body)
    return b"".join(lines)


def _parse_head(head: bytes) -> tuple[bytes, int, list[tuple[bytes, bytes]]]:
    """Version, status and headers of a status line and header block (no final CRLFCRLF)."""
    lines = head.split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    code = rest[:3]
    if (
        version not in (b"HTTP/1.1", b"HTTP/1.0")
        or len(code) != 3
        or not code.isdigit()
        or rest[3:4] not in (b"", b" ")
    ):
        raise RemoteProtocolError(f"malformed status line {lines[0][:80]!r}")
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):
            # An obsolete folded line continues the previous header's value.
            if not headers:
                raise RemoteProtocolError("header block starts with a folded line")
            name, value = headers[-1]
            headers[-1] = (name, value + b" " + line.strip())
            continue
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise RemoteProtocolError(f"malformed header line {line[:80]!r}")
        headers.append((name, value.strip(b" \t")))
    return version, int(code), headers


def _tokens(headers: list[tuple[bytes, bytes]], wanted: bytes) -> list[bytes]:
    """The comma-separated, lower-cased tokens of every ``wanted`` header."""
    found: list[bytes] = []
    for name, value in headers:
        if name.lower() == wanted:
            found += (token.strip().lower() for token in value.split(b","))
    return found


class _Parser:
    """The answer to one request, parsed from bytes as they arrive."""

    def __init__(self, method: bytes) -> None:
        self._method = method
        self._buffer = bytearray()
        self._state = _HEAD
        self._status = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._remaining = 0
        #: Whether the connection may carry another request after this answer.
        self.reusable = False

    def feed(self, data: bytes) -> bool:
        """Take more bytes; True once the answer is complete (raises on a malformed one)."""
        self._buffer += data
        if not self._parse():
            return False
        if self._buffer:
            self.reusable = False  # bytes past the answer: not a connection to trust
        return True

    def answer(self) -> Answer:
        return self._status, self._headers, b"".join(self._body)

    def at_eof(self, exc: Exception | None = None) -> Answer:
        """The server closed the connection: the answer if that ends it, else raise."""
        self.reusable = False
        if self._state == _UNTIL_CLOSE and exc is None:
            return self.answer()
        if self._state == _HEAD and not self._buffer:
            raise RemoteProtocolError("server disconnected without sending an answer")
        raise RemoteProtocolError(
            "server disconnected in the middle of the answer"
            + (f": {exc}" if exc is not None else "")
        )

    def _parse(self) -> bool:
        """Consume what the buffer holds; True once the answer is complete."""
        buffer = self._buffer
        while True:
            state = self._state
            if state == _HEAD:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(buffer) > _MAX_HEAD:
                        raise RemoteProtocolError("answer head is too large")
                    return False
                if end > _MAX_HEAD:
                    raise RemoteProtocolError("answer head is too large")
                version, status, headers = _parse_head(bytes(buffer[:end]))
                del buffer[: end + 4]
                if 100 <= status < 200:
                    if status == 101:
                        raise RemoteProtocolError("unexpected 101 Switching Protocols")
                    continue  # an interim answer: the real one follows
                self._status, self._headers = status, headers
                self._frame(version)
            elif state == _LENGTH:
                if len(buffer) < self._remaining:
                    return False
                self._body.append(bytes(buffer[: self._remaining]))
                del buffer[: self._remaining]
                self._state = _DONE
            elif state == _CHUNK_SIZE:
                end = buffer.find(b"\r\n")
                if end < 0:
                    if len(buffer) > _MAX_LINE:
                        raise RemoteProtocolError("chunk size line is too long")
                    return False
                size = bytes(buffer[:end]).partition(b";")[0].strip(b" \t")
                if not size or len(size) > 16 or not _HEX.issuperset(size):
                    raise RemoteProtocolError(f"malformed chunk size {size[:20]!r}")
                del buffer[: end + 2]
                self._remaining = int(size, 16)
                self._state = _CHUNK_DATA if self._remaining else _TRAILERS
            elif state == _CHUNK_DATA:
                if len(buffer) < self._remaining + 2:
                    return False
                if buffer[self._remaining : self._remaining + 2] != b"\r\n":
                    raise RemoteProtocolError("chunk not followed by CRLF")
                self._body.append(bytes(buffer[: self._remaining]))
                del buffer[: self._remaining + 2]
                self._state = _CHUNK_SIZE
            elif state == _TRAILERS:
                end = buffer.find(b"\r\n")
                if end < 0:
                    if len(buffer) > _MAX_HEAD:
                        raise RemoteProtocolError("trailers are too large")
                    return False
                del buffer[: end + 2]
                if end == 0:
                    self._state = _DONE
            elif state == _UNTIL_CLOSE:
                self._body.append(bytes(buffer))
                buffer.clear()
                return False
            else:
                return True

    def _frame(self, version: bytes) -> None:
        """Choose how the body of the answer just parsed is delimited, and keep-alive."""
        headers = self._headers
        connection = _tokens(headers, b"connection")
        if version == b"HTTP/1.1":
            self.reusable = b"close" not in connection
        else:
            self.reusable = b"keep-alive" in connection
        if self._method == b"HEAD" or self._status in (204, 304):
            self._state = _DONE
            return
        codings = _tokens(headers, b"transfer-encoding")
        if codings:
            if codings != [b"chunked"]:
                # As h11: the only transfer coding servers use, and the only one undone here.
                raise RemoteProtocolError(
                    f"unsupported Transfer-Encoding {b', '.join(codings)[:40]!r}"
                )
            if version != b"HTTP/1.1" or _tokens(headers, b"content-length"):
                # RFC 9112 6.1: faulty or ambiguous framing; read it, then close.
                self.reusable = False
            self._state = _CHUNK_SIZE
            return
        lengths = set(_tokens(headers, b"content-length"))
        if lengths:
            if len(lengths) != 1:
                raise RemoteProtocolError("conflicting Content-Length headers")
            (length,) = lengths
            if not length.isdigit() or len(length) > 18:
                raise RemoteProtocolError(f"malformed Content-Length {length[:20]!r}")
            self._remaining = int(length)
            self._state = _LENGTH
            return
        self._state = _UNTIL_CLOSE
        self.reusable = False


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection on asyncio: sends a request, parses the answer as it arrives."""

    #: The event loop reports a close (``connection_lost``) even while the connection is idle.
    watched = True

    def __init__(self, pool: H1Pool, origin: Origin) -> None:
        assert pool.loop is not None
        self.pool = pool
        self.origin = origin
        self.loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[Answer] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._paused = False
        self._read_timeout: float | None = None
        self._last_data = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._parser = _Parser(b"GET")
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
        self._last_data = self.loop.time()
        parser = self._parser
        try:
            done = parser.feed(data)
        except RemoteProtocolError as exc:
            self._fail(exc)
            return
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
            except RemoteProtocolError as error:
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

    async def send(self, method: bytes, data: bytes, timeouts: dict[str, float | None]) -> Answer:
        """Write ``data`` and wait for the whole answer; close the connection on any failure."""
        transport = self.transport
        if transport is None or self.closed:
            raise ReadError("connection closed before the request was sent")
        self._parser = _Parser(method)
        self.reusable = False
        loop = self.loop
        waiter: asyncio.Future[Answer] = loop.create_future()
        self._waiter = waiter
        try:
            transport.write(data)
            if self._paused:
                await self._drain(timeouts.get("write"))
            self._last_data = loop.time()
            read_timeout = timeouts.get("read")
            if read_timeout is not None:
                self._read_timeout = read_timeout
                self._timer = loop.call_at(self._last_data + read_timeout, self._check_timeout)
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
        waiter, timeout = self._waiter, self._read_timeout
        if waiter is None or waiter.done() or timeout is None:
            return
        quiet = self.loop.time() - self._last_data
        if quiet >= timeout:
            waiter.set_exception(ReadTimeout("timed out waiting for the answer"))
            self.abort()
        else:
            self._timer = self.loop.call_later(timeout - quiet, self._check_timeout)

    def _fail(self, exc: Exception) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.abort()

    def readable(self) -> bool:
        """Whether the socket has something to read (a close, or stray bytes) right now."""
        transport = self.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        return sock is None or _socket_readable(sock.fileno())

    def abort(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.abort()
        self.closed = True


class _TrioConnection:
    """One HTTP/1.1 connection on trio: a write, then reads fed to the parser.

    Nothing watches an idle trio socket, so the pool checks one for a close before every
    reuse (``watched`` is false).
    """

    watched = False

    def __init__(self, pool: H1Pool, origin: Origin, stream: Any, sock: Any) -> None:
        self.pool = pool
        self.origin = origin
        self.closed = False
        self.idle_since = 0.0
        self.reusable = False
        self._stream = stream
        self._sock = sock

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

    async def send(self, method: bytes, data: bytes, timeouts: dict[str, float | None]) -> Answer:
        """Write ``data`` and read the whole answer; close the connection on any failure."""
        import trio

        if self.closed:
            raise ReadError("connection closed before the request was sent")
        parser = _Parser(method)
        self.reusable = False
        stream = self._stream
        writing = True
        try:
            with anyio.fail_after(timeouts.get("write")):
                await stream.send_all(data)
            writing = False
            read_timeout = timeouts.get("read")
            while True:
                with anyio.fail_after(read_timeout):
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
            error = WriteError if writing else RemoteProtocolError
            raise error(f"connection lost: {exc!r}") from exc
        except BaseException:
            self.abort()
            raise

    def readable(self) -> bool:
        """Whether there is something to read (a close, stray bytes) right now."""
        return self._buffered() or _socket_readable(self._sock.fileno())

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


#: A connection of either kind.
Connection = _Connection | _TrioConnection


def _socket_readable(fileno: int) -> bool:
    """Whether socket ``fileno`` has something to read, or an error or hang-up, right now."""
    if fileno < 0:
        return True
    try:
        if hasattr(select, "poll"):  # no limit on descriptor numbers, unlike select()
            poller = select.poll()
            poller.register(fileno, select.POLLIN | select.POLLPRI)
            return bool(poller.poll(0))
        ready, _, _ = select.select([fileno], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(ready)


def event_loop_identity() -> Any:
    """The running asyncio loop, or on trio the run's token: a pool belongs to one of them."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # not asyncio: trio (anyio's only other backend)
        import trio

        return trio.lowlevel.current_trio_token()


class H1Pool:
    """Keep-alive connections to any number of origins, at most ``max_connections`` open.

    A request takes the most recently used idle connection to its origin, else opens one;
    at the limit it closes an idle connection to another origin, or waits (up to the ``pool``
    timeout) for one to come back. Expired (idle longer than ``keepalive_expiry``) and
    server-closed connections are never reused.
    """

    def __init__(
        self,
        max_connections: int,
        ssl_context: ssl.SSLContext,
        *,
        keepalive_expiry: float = _KEEPALIVE_EXPIRY,
    ) -> None:
        self.identity = event_loop_identity()
        self.loop = self.identity if isinstance(self.identity, asyncio.AbstractEventLoop) else None
        self._now: Callable[[], float] = (
            self.loop.time if self.loop is not None else anyio.current_time
        )
        self._trio_token: Callable[[], Any] | None = None
        if self.loop is None:
            import trio

            self._trio_token = trio.lowlevel.current_trio_token
        self.max_connections = max_connections
        self.keepalive_expiry = keepalive_expiry
        self._ssl_context = ssl_context
        self._idle: dict[Origin, list[Connection]] = {}
        self._open: set[Connection] = set()
        self._connecting = 0
        self._waiters: deque[anyio.Event] = deque()
        self._closed = False

    def is_current(self) -> bool:
        """Whether this pool belongs to the running event loop (or trio run).

        On every request: asks only the backend this pool was made on, so nothing is raised
        unless the backend changed (then this pool is replaced once), and nothing is imported.
        """
        try:
            if self._trio_token is None:
                return asyncio.get_running_loop() is self.loop
            return self._trio_token() is self.identity
        except RuntimeError:  # no loop (or trio run) of that kind is running
            return False

    @property
    def connections(self) -> int:
        """Connections open or being opened."""
        return len(self._open) + self._connecting

    @property
    def idle(self) -> int:
        return sum(len(idle) for idle in self._idle.values())

    async def request(
        self, origin: Origin, method: bytes, data: bytes, timeouts: dict[str, float | None]
    ) -> Answer:
        """Send one encoded request to ``origin`` (scheme, host, port) and read its answer."""
        connection = self._take_idle(origin)
        if connection is None:
            connection = await self._acquire(origin, timeouts)
        try:
            return await connection.send(method, data, timeouts)
        finally:
            self._release(connection)

    async def send(
        self,
        origin: Origin,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | None,
        timeouts: dict[str, float | None],
    ) -> Answer:
        """:meth:`request` with the request given in parts (``headers`` include ``Host``)."""
        return await self.request(
            origin, method, encode_request(method, target, headers, body), timeouts
        )

    def _take_idle(self, origin: Origin) -> Connection | None:
        idle = self._idle.get(origin)
        if not idle:
            return None
        now = self._now()
        while idle:
            connection = idle.pop()
            if connection.closed:
                continue
            quiet = now - connection.idle_since
            recheck = quiet > _RECHECK_AFTER or not connection.watched
            if quiet > self.keepalive_expiry or (recheck and connection.readable()):
                # Expired, or the server closed it (or sent bytes nobody asked for) and the
                # event loop has not told us yet: never send a request on it.
                connection.abort()
                self.forget(connection)
                continue
            return connection
        return None

    async def _acquire(self, origin: Origin, timeouts: dict[str, float | None]) -> Connection:
        """An idle connection to ``origin`` or a new one, waiting for room at the limit."""
        pool_timeout = timeouts.get("pool")
        deadline = None if pool_timeout is None else self._now() + pool_timeout
        while True:
            if self._closed:
                raise ConnectError("the connection pool is closed")
            connection = self._take_idle(origin)
            if connection is not None:
                return connection
            if self.connections < self.max_connections or self._close_an_idle_connection():
                return await self._connect(origin, timeouts.get("connect"))
            await self._wait(deadline)

    async def _wait(self, deadline: float | None) -> None:
        """Wait for a connection to come back or close; PoolTimeout at ``deadline``."""
        turn = anyio.Event()
        self._waiters.append(turn)
        try:
            with anyio.fail_after(None if deadline is None else max(0.0, deadline - self._now())):
                await turn.wait()
        except TimeoutError:
            if turn.is_set():
                self._wake()  # the turn came with the timeout: it goes to the next waiter
            raise PoolTimeout("timed out waiting for a free connection in the pool") from None
        except BaseException:
            if turn.is_set():
                self._wake()  # the turn this waiter was given goes to the next one
            raise
        finally:
            if turn in self._waiters:
                self._waiters.remove(turn)

    async def _connect(self, origin: Origin, timeout: float | None) -> Connection:
        self._connecting += 1
        try:
            connection = await self._open_connection(origin, timeout)
        except BaseException:
            self._connecting -= 1
            self._wake()
            raise
        self._connecting -= 1
        if self._closed:
            connection.abort()
            raise ConnectError("the connection pool is closed")
        self._open.add(connection)
        return connection

    def _close_an_idle_connection(self) -> bool:
        """Close the least recently used idle connection; False when none is open."""
        for idle in self._idle.values():
            while idle:
                connection = idle.pop(0)
                if connection.closed:
                    continue  # already gone from the counts: closing it frees nothing
                connection.abort()
                self.forget(connection)
                return True
        return False

    async def _open_connection(self, origin: Origin, timeout: float | None) -> Connection:
        scheme, host, port = origin
        tls = scheme == b"https"
        try:
            with anyio.fail_after(timeout):
                if self.loop is None:
                    return await _TrioConnection.open(
                        self, origin, self._ssl_context if tls else None
                    )
                connection = _Connection(self, origin)
                await self.loop.create_connection(
                    lambda: connection,
                    host,
                    port,
                    ssl=self._ssl_context if tls else None,
                    server_hostname=host if tls else None,
                )
                return connection
        except TimeoutError:
            raise ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except (OSError, ValueError) as exc:
            # ValueError: a host name the resolver or TLS refuses (an empty or overlong label).
            raise ConnectError(f"{host}:{port}: {exc}") from exc

    def _release(self, connection: Connection) -> None:
        """Return a connection after its request: idle when reusable, else closed."""
        if connection.reusable and not connection.closed and not self._closed:
            connection.idle_since = self._now()
            self._idle.setdefault(connection.origin, []).append(connection)
            self._wake()
        else:
            connection.abort()
            self.forget(connection)  # wakes a waiter when the connection leaves the counts

    def forget(self, connection: Connection) -> None:
        """Drop a closed connection from the counts and the idle lists (idempotent)."""
        idle = self._idle.get(connection.origin)
        if idle and connection in idle:
            idle.remove(connection)
        if connection in self._open:
            self._open.discard(connection)
            self._wake()

    def _wake(self) -> None:
        while self._waiters:
            turn = self._waiters.popleft()
            if not turn.is_set():
                turn.set()
                return

    async def aclose(self) -> None:
        """Close every connection; requests still in flight fail."""
        self._closed = True
        for connection in list(self._open):
            connection.abort()
        self._open.clear()
        self._idle.clear()
        while self._waiters:
            self._waiters.popleft().set()

    def abandon(self) -> None:
        """Close what can be closed without this pool's event loop: its trio sockets.

        For a pool left behind by an earlier ``trio.run`` (asyncio connections of a loop that
        is gone are closed by asyncio when collected). Marks the pool closed.
        """
        self._closed = True
        for connection in list(self._open):
            if isinstance(connection, _TrioConnection):
                connection.abort()
        self._idle.clear()

    def __repr__(self) -> str:
        return f"<H1Pool {self.connections} of {self.max_connections} connections>"
