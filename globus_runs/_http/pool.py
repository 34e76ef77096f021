"""The library's one HTTP/1.1 implementation: a lean connection pool, on asyncio and on trio.

Every request of a client that makes its own connection pool, or that shares a
``pooled_http_client()``, goes through this module: straight from the transport, or through
``httpx.AsyncClient`` and the httpx transport over the same pool (``_transport.PoolTransport``).
It does what this library's requests need and nothing else: a request whose headers and body
are already bytes goes out in one write, and the answer is parsed as it arrives (in the
protocol's ``data_received`` on asyncio, from a trio stream's reads on trio), so a request
costs one wait on the event loop and no other task switch. Under a batch of a hundred
requests in flight that is what keeps a latency-bound service's round trips from stretching.

Framing follows RFC 9112 as strictly as h11 does: header lines end at LF (a CR before it is
dropped), so a bare LF inside a value starts a new header rather than hiding it; names are
tokens; values refuse NUL, CR, LF, VT and FF; status codes are three digits, at least 100.
Interim ``1xx`` answers are skipped, ``204``/``304`` and answers to ``HEAD`` have no body,
``Transfer-Encoding: chunked`` (trailers checked and dropped) takes precedence over
``Content-Length`` (and the connection is closed after such an answer), any other transfer
coding is refused, and an answer with neither is read until the server closes. A connection
is reused only after a complete answer of HTTP/1.1 (or a later 1.x) without
``Connection: close`` and with no stray bytes after it, as h11 would.

Answers are bounded: the body as received (chunk framing included) and as decoded (gzip or
deflate, undone here as it arrives, never producing more than the limit) may not pass the
request's size limit, else :class:`~globus_runs.ResponseTooLargeError` and the connection is
dropped. An attempt may be given a deadline that bounds the whole request, however the
server spaces its bytes.

An idle connection is checked for a close (or stray bytes) before it is reused; a request on
a reused connection that ends before any byte of the answer arrived is sent once more on a
new connection when that is safe: always when it provably never left, else only when it is
idempotent.

Framing and network failures are raised as the pool's own exception classes
(``globus_runs._pool_errors``), which the transport maps in one place; a body too large or
not decodable raises the library's own errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import select
import ssl
from collections import deque
from collections.abc import AsyncGenerator, Callable
from typing import Any

import anyio

from .._body import DEFAULT_MAX_RESPONSE_SIZE, BodyReader, too_large
from .pool_errors import (
    ConnectError,
    ConnectTimeout,
    LocalProtocolError,
    PoolTimeout,
    ReadTimeout,
    RemoteProtocolError,
    TLSVerificationError,
    WriteError,
    WriteTimeout,
)
from .trio_tls import TLSStream

__all__ = ["Answer", "H1Pool", "encode_request"]

#: Status, headers (name and value as received) and body of one answer.
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
Origin = tuple[bytes, str, int]

_MAX_HEAD = 64 * 1024
_READ_SIZE = 64 * 1024
_MAX_LINE = 8 * 1024
_KEEPALIVE_EXPIRY = 5.0
_IDEMPOTENT = frozenset({b"GET", b"HEAD", b"PUT", b"DELETE", b"OPTIONS", b"TRACE"})

# The grammar of RFC 9110/9112 for what a client reads.
_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_VALUE_CHAR = rb"[^\x00\t\n\v\f\r ]"
_HEADER_LINE = re.compile(
    rb"(" + _TOKEN + rb"):[ \t]*(" + _VALUE_CHAR + rb"+(?:[ \t]+" + _VALUE_CHAR + rb"+)*)?[ \t]*"
)
_STATUS_LINE = re.compile(rb"HTTP/([0-9]\.[0-9]) ([0-9]{3})(?: [^\x00\n\v\f\r]*)?")
_CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]{1,20})(?:;[^\n]*)?[ \t]*\r\n")
_LENGTH_VALUE = re.compile(rb"[0-9]{1,20}")
#: The bytes of a token (a header name).
_TOKEN_BYTES = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# The end of a header block: an empty line, whatever mix of CRLF and LF ends the lines.
_BLANK_LINE = re.compile(rb"\n\r?\n")

# Parser states.
_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _UNTIL_CLOSE, _DONE = range(8)


class _Unanswered(RemoteProtocolError):
    """The server closed a connection before any byte of the answer arrived."""


class _Unsent(WriteError):
    """The request never (completely) left: the connection was closed or broke on writing."""


def _bad_byte(value: bytes) -> bool:
    return b"\r" in value or b"\n" in value or b"\0" in value


def encode_request(
    method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes | None
) -> bytes:
    """One request as bytes; refuses a line break or NUL in any part (header injection)."""
    if b" " in target or b" " in method:
        raise LocalProtocolError("invalid request line")
    lines = [method, b" ", target, b" HTTP/1.1\r\n"]
    for name, value in headers:
        if b":" in name or not name:
            raise LocalProtocolError(f"invalid header {name[:40]!r}")
        lines += (name, b": ", value, b"\r\n")
    lines.append(b"\r\n")
    if body:
        lines.append(body)
    data = b"".join(lines)
    # One look at the whole head rather than three at every part: it holds exactly the line
    # breaks put there, and no NUL.
    end = len(data) - len(body) if body else len(data)
    breaks = len(headers) + 2
    if (
        data.count(b"\n", 0, end) != breaks
        or data.count(b"\r", 0, end) != breaks
        or data.find(b"\0", 0, end) >= 0
    ):
        raise _injection(method, target, headers)
    return data


def _injection(
    method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]
) -> LocalProtocolError:
    """The error naming the part of a request that holds a line break or NUL."""
    if _bad_byte(method) or _bad_byte(target):
        return LocalProtocolError("invalid request line")
    name = next(name for name, value in headers if _bad_byte(name) or _bad_byte(value))
    return LocalProtocolError(f"invalid header {name[:40]!r}")


def _split_head(block: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The first line and the headers of a header block (its final empty line included)."""
    if (
        block.count(b"\r") == block.count(b"\n") == block.count(b"\r\n")
        and b"\0" not in block
        and b"\v" not in block
        and b"\f" not in block
    ):
        # The usual case: every line ends in CRLF and no byte a header may not hold is there,
        # so a line is well-formed when its name is a token (a folded line's is not).
        first = block.find(b"\r\n")
        end = len(block) - 4
        headers = []
        if first < end:
            for line in block[first + 2 : end].split(b"\r\n"):
                name, colon, value = line.partition(b":")
                if not colon or not name or name.translate(None, _TOKEN_BYTES):
                    break
                headers.append((name, value.strip(b" \t")))
            else:
                return block[:first], headers
        else:
            return block[:first], headers
    # Bare LFs, folded lines or a line to refuse: line by line.
    lines = _header_lines(block)
    if not lines:
        raise RemoteProtocolError("answer starts with an empty line")
    return lines[0], _parse_headers(lines[1:])


def _header_lines(block: bytes) -> list[bytes]:
    """The lines of a header block (its final empty line excluded), each without CR LF."""
    lines = block.split(b"\n")
    del lines[-2:]  # the two empty strings around the final LF of the blank line
    return [line[:-1] if line[-1:] == b"\r" else line for line in lines]


def _parse_headers(lines: list[bytes]) -> list[tuple[bytes, bytes]]:
    """Name and value of each header line; obsolete folded lines join the line before them."""
    headers: list[tuple[bytes, bytes]] = []
    pending: bytes | None = None
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            if pending is None:
                raise RemoteProtocolError("header block starts with a folded line")
            pending += b" " + line.lstrip(b" \t")
            continue
        if pending is not None:
            headers.append(_header(pending))
        pending = line
    if pending is not None:
        headers.append(_header(pending))
    return headers


def _header(line: bytes) -> tuple[bytes, bytes]:
    match = _HEADER_LINE.fullmatch(line)
    if match is None:
        raise RemoteProtocolError(f"malformed header line {line[:80]!r}")
    name, value = match.groups()
    return name, value or b""


_FRAMING_NAMES = frozenset(
    {b"content-length", b"transfer-encoding", b"connection", b"content-encoding"}
)


def _framing(headers: list[tuple[bytes, bytes]]) -> tuple[int | None, bool, list[bytes], bool]:
    """Content-Length, chunked or not, content codings and ``Connection: close``.

    Refuses what makes the framing ambiguous: Content-Length values that differ or are not
    digits, more than one Transfer-Encoding, a transfer coding other than ``chunked``.
    """
    length: bytes | None = None
    chunked = close = False
    codings: list[bytes] = []
    for name, value in headers:
        lower = name.lower()
        if lower not in _FRAMING_NAMES:
            continue
        if lower == b"content-length":
            length = _content_length(value, length)
        elif lower == b"transfer-encoding":
            if chunked:
                raise RemoteProtocolError("more than one Transfer-Encoding header")
            if value.lower() != b"chunked":
                # The only transfer coding servers use, and the only one undone here.
                raise RemoteProtocolError(f"unsupported Transfer-Encoding {value[:40]!r}")
            chunked = True
        elif lower == b"connection":
            close = close or b"close" in (item.strip() for item in value.lower().split(b","))
        else:  # content-encoding
            codings += (item.strip().lower() for item in value.split(b","))
    return (None if length is None else int(length)), chunked, codings, close


def _content_length(value: bytes, before: bytes | None) -> bytes:
    """The digits of a ``Content-Length`` value (a list of equal ones allowed), which must
    agree with ``before``, the value of an earlier such header."""
    if value.isdigit():
        found = value
    else:  # a list of lengths, which must all be the same
        values = {item.strip() for item in value.split(b",")}
        if len(values) != 1:
            raise RemoteProtocolError("conflicting Content-Length headers")
        (found,) = values
    if len(found) > 20 or _LENGTH_VALUE.fullmatch(found) is None:
        raise RemoteProtocolError(f"malformed Content-Length {found[:24]!r}")
    if before is not None and found != before:
        raise RemoteProtocolError("conflicting Content-Length headers")
    return found


class _Parser:
    """The answer to one request, parsed from bytes as they arrive.

    ``limit`` bounds the body as received (chunk framing and trailers included) and decoded.
    """

    def __init__(self, method: bytes, limit: int = DEFAULT_MAX_RESPONSE_SIZE) -> None:
        self._method = method
        self._limit = limit
        self._buffer = bytearray()
        self._scan = 0  # where the search for the end of a header block resumes
        self._state = _HEAD
        self._status = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._content = b""
        self._reader: BodyReader | None = None
        self._remaining = 0
        #: Bytes received for this answer, and the most it may take before its body is whole.
        self.received = 0
        self._budget = limit + _MAX_HEAD
        #: Whether the connection may carry another request after this answer.
        self.reusable = False

    def feed(self, data: bytes) -> bool:
        """Take more bytes; True once the answer is complete (raises on a malformed one)."""
        self._buffer += data
        received = self.received = self.received + len(data)
        if not self._parse():
            if received > self._budget:
                raise too_large(self._limit)
            return False
        if self._buffer:
            self.reusable = False  # bytes past the answer: not a connection to trust
        return True

    def answer(self) -> Answer:
        return self._status, self._headers, self._content

    def at_eof(self, exc: Exception | None = None) -> Answer:
        """The server closed the connection: the answer if that ends it, else raise."""
        self.reusable = False
        if self._state == _UNTIL_CLOSE and exc is None:
            self._finish()
            return self.answer()
        if not self.received:
            raise _Unanswered(
                "server disconnected without sending an answer"
                + (f": {exc}" if exc is not None else "")
            )
        raise RemoteProtocolError(
            "server disconnected in the middle of the answer"
            + (f": {exc}" if exc is not None else "")
        )

    def _block(self) -> bytes | None:
        """The header block at the start of the buffer, once it is all there (b"": empty)."""
        buffer = self._buffer
        if buffer[:1] == b"\n" or buffer[:2] == b"\r\n":
            del buffer[: 1 if buffer[0] == 10 else 2]
            self._scan = 0
            return b""
        match = _BLANK_LINE.search(buffer, self._scan)
        if match is None:
            if len(buffer) > _MAX_HEAD:
                raise RemoteProtocolError("answer head is too large")
            self._scan = max(0, len(buffer) - 2)
            return None
        end = match.end()
        if end > _MAX_HEAD:
            raise RemoteProtocolError("answer head is too large")
        block = bytes(buffer[:end])
        del buffer[:end]
        self._scan = 0
        return block

    def _parse(self) -> bool:
        """Consume what the buffer holds; True once the answer is complete.

        Each state has a step of its own (``_STEPS``): it consumes what it can and says
        whether to go on (the state moved) or to wait for more bytes.
        """
        steps = self._STEPS
        while True:
            state = self._state
            if state == _DONE:
                return True
            if not steps[state](self):
                return False

    def _step_head(self) -> bool:
        """The status line and headers (interim ``1xx`` answers skipped)."""
        if not self._buffer:
            return False
        block = self._block()
        if block is None:
            return False
        if not block:
            raise RemoteProtocolError("answer starts with an empty line")
        first, headers = _split_head(block)
        status_line = _STATUS_LINE.fullmatch(first)
        if status_line is None:
            raise RemoteProtocolError(f"malformed status line {first[:80]!r}")
        version, code = status_line.groups()
        status = int(code)
        length, chunked, codings, close = _framing(headers)
        if status < 200:
            if status < 100:
                raise RemoteProtocolError(f"status code {status} below 100")
            if status == 101:
                raise RemoteProtocolError("unexpected 101 Switching Protocols")
            return True  # an interim answer: the real one follows
        self._status, self._headers = status, headers
        self._frame(version, length, chunked, codings, close)
        return True

    def _step_length(self) -> bool:
        """A body of ``Content-Length`` bytes, once all of it is there."""
        buffer, remaining = self._buffer, self._remaining
        if len(buffer) < remaining:
            return False
        if self._reader is None:
            self._content = bytes(buffer[:remaining])
        else:
            self._reader.feed(buffer[:remaining])
        del buffer[:remaining]
        self._finish()
        return True

    def _step_chunk_size(self) -> bool:
        buffer = self._buffer
        end = buffer.find(b"\r\n")
        if end < 0 or end > _MAX_LINE:
            if len(buffer) > _MAX_LINE:
                raise RemoteProtocolError("chunk size line is too long")
            return False
        match = _CHUNK_LINE.fullmatch(buffer, 0, end + 2)
        if match is None:
            raise RemoteProtocolError(
                f"malformed chunk size line {bytes(buffer[: min(end, 40)])!r}"
            )
        size = int(match[1], 16)
        del buffer[: end + 2]
        if size > self._limit:
            raise too_large(self._limit)
        self._remaining = size
        self._state = _CHUNK_DATA if size else _TRAILERS
        return True

    def _step_chunk_data(self) -> bool:
        buffer = self._buffer
        if not buffer:
            return False
        take = min(len(buffer), self._remaining)
        assert self._reader is not None
        self._reader.feed(buffer[:take])
        del buffer[:take]
        self._remaining -= take
        if self._remaining:
            return False
        self._state = _CHUNK_END
        return True

    def _step_chunk_end(self) -> bool:
        buffer = self._buffer
        if len(buffer) < 2:
            if buffer and buffer[0] != 13:
                raise RemoteProtocolError("chunk not followed by CRLF")
            return False
        if buffer[:2] != b"\r\n":
            raise RemoteProtocolError("chunk not followed by CRLF")
        del buffer[:2]
        self._state = _CHUNK_SIZE
        return True

    def _step_trailers(self) -> bool:
        block = self._block()
        if block is None:
            return False
        if block:  # checked as the head's, then dropped
            _framing(_parse_headers(_header_lines(block)))
        self._finish()
        return True

    def _step_until_close(self) -> bool:
        buffer = self._buffer
        if buffer:
            assert self._reader is not None
            self._reader.feed(buffer)
            buffer.clear()
        return False  # only the server's close ends it (at_eof)

    #: The step of each state, by its number.
    _STEPS: tuple[Callable[[_Parser], bool], ...] = (
        _step_head,
        _step_length,
        _step_chunk_size,
        _step_chunk_data,
        _step_chunk_end,
        _step_trailers,
        _step_until_close,
    )

    def _frame(
        self, version: bytes, length: int | None, chunked: bool, codings: list[bytes], close: bool
    ) -> None:
        """Choose how the body of the answer just parsed is delimited, and keep-alive."""
        self.reusable = version >= b"1.1" and not close
        # The answer's own allowance starts here: interim answers before it count against it.
        self._budget = self.received - len(self._buffer) + self._limit
        if self._method == b"HEAD" or self._status in (204, 304):
            self._state = _DONE
            return
        if codings or chunked or length is None:
            self._reader = BodyReader(codings, self._limit)
        if chunked:
            if version != b"1.1" or length is not None:
                # RFC 9112 6.1: faulty or ambiguous framing; read it, then close.
                self.reusable = False
            self._state = _CHUNK_SIZE
            return
        if length is not None:
            if length > self._limit:
                raise too_large(self._limit)
            self._remaining = length
            self._state = _LENGTH
            return
        self._state = _UNTIL_CLOSE
        self.reusable = False

    def _finish(self) -> None:
        if self._reader is not None:
            self._content = self._reader.finish()
        self._state = _DONE


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


def _earliest(timeout: float | None, since: float, deadline: float | None) -> float:
    """The earlier of ``since + timeout`` and ``deadline`` (at least one is not None)."""
    if timeout is None:
        assert deadline is not None
        return deadline
    end = since + timeout
    return end if deadline is None or end < deadline else deadline


def _within(timeout: float | None, deadline: float | None, now: float) -> float | None:
    """``timeout``, shortened to what is left before ``deadline``."""
    if deadline is None:
        return timeout
    left = max(0.0, deadline - now)
    return left if timeout is None or left < timeout else timeout


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


#: A connection of either kind.
Connection = _Connection | _TrioConnection


class _Readiness:
    """A poller on one socket, made once: the check before a reuse is one system call."""

    __slots__ = ("_fileno", "_poller")

    def __init__(self, fileno: int) -> None:
        self._fileno = fileno
        self._poller: Any = None
        if hasattr(select, "poll") and fileno >= 0:  # no limit on descriptor numbers
            self._poller = select.poll()
            self._poller.register(fileno, select.POLLIN | select.POLLPRI)

    def ready(self) -> bool:
        """Whether the socket has something to read, or an error or hang-up, right now."""
        poller = self._poller
        if poller is None:
            return _socket_readable(self._fileno)
        try:
            return bool(poller.poll(0))
        except (OSError, ValueError):
            return True


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
