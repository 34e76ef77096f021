"""The library's connection pool: keep-alive HTTP/1.1 connections on asyncio and trio.

:class:`H1Pool` belongs to one event loop (or trio run); it takes the most recently used idle
connection to an origin or opens one (:mod:`.asyncio_conn`, :mod:`.trio_conn`), at most
``max_connections`` open. A request on a reused connection that ends before any byte of the
answer is sent once more on a new one when that is safe (it provably never left, or it is
idempotent). Failures are the pool's own exceptions (:mod:`.pool_errors`).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncGenerator, Callable
from typing import Any

import anyio

from .._body import DEFAULT_MAX_RESPONSE_SIZE
from .asyncio_conn import _Connection, _TLSConnection
from .h1_parser import (
    _IDEMPOTENT,
    _KEEPALIVE_EXPIRY,
    Answer,
    Origin,
    _Unanswered,
    _Unsent,
    encode_request,
)
from .pool_errors import ConnectError, ConnectTimeout, PoolTimeout, TLSVerificationError
from .sender import _within
from .trio_conn import _TrioConnection

__all__ = ["Answer", "Connection", "H1Pool", "Origin", "encode_request"]

#: A connection of either kind.
Connection = _Connection | _TrioConnection


async def _close_at_the_end(pool: H1Pool) -> AsyncGenerator[None, None]:
    """Suspended for the pool's life; closed by the event loop as it ends, or by ``aclose``."""
    try:
        yield
    finally:
        pool.close_now()


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
    server-closed connections are never reused: before each reuse one ``poll`` of the socket
    finds a close the event loop has not reported yet (one that came with the last answer).
    """

    def __init__(
        self,
        max_connections: int,
        ssl_context: ssl.SSLContext | Callable[[], ssl.SSLContext],
        *,
        keepalive_expiry: float = _KEEPALIVE_EXPIRY,
    ) -> None:
        """``ssl_context`` may be a function making it: called at the first https connection,
        so a pool that only speaks plain http never loads a trust store."""
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
        self._ssl_context: ssl.SSLContext | None = None
        self._make_ssl_context: Callable[[], ssl.SSLContext] | None = None
        if isinstance(ssl_context, ssl.SSLContext):
            self._ssl_context = ssl_context
        else:
            self._make_ssl_context = ssl_context
        self._idle: dict[Origin, list[Connection]] = {}
        self._open: set[Connection] = set()
        self._connecting = 0
        self._waiters: deque[anyio.Event] = deque()
        self._closed = False
        self._keeper: AsyncGenerator[None, None] | None = None

    async def close_with_event_loop(self) -> None:
        """Close this pool's connections when its event loop (or trio run) ends.

        A client may be used from one ``asyncio.run`` (or ``trio.run``) after another, as
        scripts and notebooks do: each run's connections are closed as the run ends, rather
        than left to the garbage collector. Both backends close the async generators still
        open at the end of a run (``loop.shutdown_asyncgens``; trio's own finalizer): this
        pool keeps one open for as long as it lives.
        """
        if self._keeper is None:
            keeper = self._keeper = _close_at_the_end(self)
            await keeper.asend(None)

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
        self,
        origin: Origin,
        method: bytes,
        data: bytes,
        timeouts: dict[str, float | None],
        *,
        limit: int = DEFAULT_MAX_RESPONSE_SIZE,
        attempt: float | None = None,
        idempotent: bool | None = None,
    ) -> Answer:
        """Send one encoded request to ``origin`` (scheme, host, port) and read its answer.

        ``timeouts`` bound each phase (``connect``, ``pool``, ``write``; ``read``: the longest
        wait for a byte); ``attempt``, when given, the whole request, however its bytes are
        spaced. ``limit`` bounds the answer's body (:class:`BodyReader`). On a reused
        connection that ends before any byte of the answer, the request is sent once more on
        a new connection: always when it provably never left, else when ``idempotent``
        (by default: when ``method`` is).
        """
        deadline = None if attempt is None else self._now() + attempt
        connection = self._take_idle(origin)
        if connection is None:
            connection = await self._acquire(origin, timeouts, deadline)
        try:
            return await connection.send(method, data, timeouts, limit, deadline)
        except _Unsent:
            if not connection.used:
                raise
        except _Unanswered:
            if not connection.used:
                raise
            if not (method in _IDEMPOTENT if idempotent is None else idempotent):
                raise
        finally:
            self._release(connection)
        # The server closed a kept-alive connection as the request went out: once more, on a
        # connection of its own.
        connection = await self._acquire(origin, timeouts, deadline, fresh=True)
        try:
            return await connection.send(method, data, timeouts, limit, deadline)
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
        *,
        limit: int = DEFAULT_MAX_RESPONSE_SIZE,
        attempt: float | None = None,
        idempotent: bool | None = None,
    ) -> Answer:
        """:meth:`request` with the request given in parts (``headers`` include ``Host``)."""
        return await self.request(
            origin,
            method,
            encode_request(method, target, headers, body),
            timeouts,
            limit=limit,
            attempt=attempt,
            idempotent=idempotent,
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
            if now - connection.idle_since > self.keepalive_expiry or connection.readable():
                # Expired, or the server closed it (or sent bytes nobody asked for) and the
                # event loop has not told us yet (a close that came with the last answer):
                # never send a request on it.
                connection.abort()
                self.forget(connection)
                continue
            return connection
        return None

    async def _acquire(
        self,
        origin: Origin,
        timeouts: dict[str, float | None],
        deadline: float | None,
        *,
        fresh: bool = False,
    ) -> Connection:
        """An idle connection to ``origin`` (unless ``fresh``) or a new one, waiting for room."""
        pool_timeout = timeouts.get("pool")
        now = self._now()
        wait_until = None if pool_timeout is None else now + pool_timeout
        if deadline is not None and (wait_until is None or deadline < wait_until):
            wait_until = deadline
        while True:
            if self._closed:
                raise ConnectError("the connection pool is closed")
            if not fresh:
                connection = self._take_idle(origin)
                if connection is not None:
                    return connection
            if self.connections < self.max_connections or self._close_an_idle_connection():
                timeout = _within(timeouts.get("connect"), deadline, self._now())
                return await self._connect(origin, timeout)
            await self._wait(wait_until)

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

    def _tls(self) -> ssl.SSLContext:
        """The TLS context, made at the first https connection when given as a function."""
        context = self._ssl_context
        if context is None:
            assert self._make_ssl_context is not None
            context = self._ssl_context = self._make_ssl_context()
        return context

    async def _open_connection(self, origin: Origin, timeout: float | None) -> Connection:
        scheme, host, port = origin
        tls = self._tls() if scheme == b"https" else None
        try:
            with anyio.fail_after(timeout):
                if self.loop is None:
                    return await _TrioConnection.open(self, origin, tls)
                if tls is None:
                    connection = _Connection(self, origin)
                    await self.loop.create_connection(lambda: connection, host, port)
                    return connection
                secure = _TLSConnection(self, origin, tls)
                await self.loop.create_connection(lambda: secure, host, port)
                try:
                    await secure.handshake()
                except BaseException:
                    secure.abort()
                    raise
                return secure
        except TimeoutError:
            raise ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except ssl.SSLCertVerificationError as exc:
            # Not a failure to retry: the same certificate would fail the same way.
            raise TLSVerificationError(
                f"{host}:{port}: the server's certificate failed verification: {exc}"
            ) from exc
        except (OSError, ValueError) as exc:
            # ValueError: a host name the resolver or TLS refuses (an empty or overlong label).
            raise ConnectError(f"{host}:{port}: {exc}") from exc

    def _release(self, connection: Connection) -> None:
        """Return a connection after its request: idle when reusable, else closed."""
        if connection.reusable and not connection.closed and not self._closed:
            connection.idle_since = self._now()
            connection.used = True
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
        self.close_now()
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            await keeper.aclose()

    def close_now(self) -> None:
        """Close every connection at once (the event loop is still running)."""
        self._closed = True
        for connection in list(self._open):
            connection.abort()
        self._open.clear()
        self._idle.clear()
        while self._waiters:
            self._waiters.popleft().set()

    def abandon(self) -> None:
        """Close what can be closed without this pool's event loop: its trio sockets.

        For a pool left behind by an earlier event loop or ``trio.run`` that did not close it
        as it ended (:meth:`close_with_event_loop`). Marks the pool closed.
        """
        self._closed = True
        for connection in list(self._open):
            if isinstance(connection, _TrioConnection):
                connection.abort()
        self._idle.clear()

    def __repr__(self) -> str:
        return f"<H1Pool {self.connections} of {self.max_connections} connections>"
