"""HTTP/1.1 framing, as strictly as h11: the request's bytes, and a parser of the answer.

:func:`encode_request` makes one request's bytes, refusing a header that could split it.
:class:`_Parser` reads an answer as it arrives, in named states (head, length-framed body,
chunk size, chunk data, chunk end, trailers, until close, done): header lines end at LF,
names are tokens, values refuse NUL, CR, LF, VT and FF; interim ``1xx`` answers are skipped;
``Transfer-Encoding: chunked`` takes precedence over ``Content-Length``; the body, as received
and as decoded (gzip, deflate), is bounded by the request's size limit. A connection may be
reused only after a complete HTTP/1.1 answer without ``Connection: close`` and stray bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .._body import DEFAULT_MAX_RESPONSE_SIZE, BodyReader, too_large
from .pool_errors import LocalProtocolError, RemoteProtocolError, WriteError
from .sender import Answer

__all__ = ["Answer", "Origin", "encode_request"]

#: Scheme, host and port of a server.
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
