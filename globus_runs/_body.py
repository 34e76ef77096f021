"""An answer's body, collected within a size limit as it arrives, content codings undone.

Both network paths use it: the pool's own connections (``globus_runs._http``) feed it the
body's bytes as they are parsed, the httpx path the raw bytes of a streamed response. The
body as received and as decoded may each take ``limit`` bytes: a decompression step never
produces more than the room left, so a small compressed body that would expand to gigabytes
stops at the limit with :class:`~globus_runs.ResponseTooLargeError`.
"""

from __future__ import annotations

import zlib
from typing import Any

from ._errors import ResponseParseError, ResponseTooLargeError

__all__ = ["DEFAULT_MAX_RESPONSE_SIZE", "BodyReader", "too_large"]

#: The most bytes an answer's body may take, as received and as decoded, unless told otherwise.
DEFAULT_MAX_RESPONSE_SIZE = 32 * 1024 * 1024


def _is_zlib_header(first: int, second: int) -> bool:
    """Whether two bytes open a zlib stream (RFC 1950), rather than raw deflate data."""
    return first & 0x0F == 8 and first >> 4 <= 7 and (first << 8 | second) % 31 == 0


class _Inflater:
    """One content coding (gzip or deflate) undone incrementally."""

    def __init__(self, coding: bytes) -> None:
        self.coding = coding
        self._stream: Any = None
        self._start = b""  # deflate: bytes held until the first two tell which framing it is
        if coding in (b"gzip", b"x-gzip"):
            self._stream = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def decompress(self, data: bytes, room: int) -> bytes:
        """Decoded bytes of ``data``: at most ``room + 1`` (more than ``room`` means too big)."""
        stream = self._stream
        if stream is None:
            data = self._start + data
            if len(data) < 2:
                self._start = data
                return b""
            self._start = b""
            wbits = zlib.MAX_WBITS if _is_zlib_header(data[0], data[1]) else -zlib.MAX_WBITS
            stream = self._stream = zlib.decompressobj(wbits)
        if stream.eof:
            return b""  # bytes after the end of the stream are ignored
        try:
            return bytes(stream.decompress(data, room + 1))
        except zlib.error as exc:
            raise self._invalid(exc) from None

    def finish(self) -> bytes:
        stream = self._stream
        if stream is None:
            if self._start:
                raise self._invalid("truncated")
            return b""
        try:
            rest = bytes(stream.flush())
        except zlib.error as exc:
            raise self._invalid(exc) from None
        if not stream.eof:
            raise self._invalid("the stream is truncated")
        return rest

    def _invalid(self, reason: object) -> ResponseParseError:
        return ResponseParseError(
            f"answer body is not valid {self.coding.decode('latin-1')}: {reason}"
        )


class BodyReader:
    """Collects a body as it arrives, undoing its content codings, within ``limit`` bytes.

    ``feed`` takes the body's bytes as received; the bytes received (``received`` counts
    them, the caller adds any framing) and the bytes decoded may each reach ``limit``, past
    it :class:`ResponseTooLargeError`. A content coding other than gzip or deflate (this
    library asks for no other) is a :class:`ResponseParseError` once the body has a byte.
    Memory: the decoded body plus what one decompression step holds back.
    """

    __slots__ = ("_body", "_inflaters", "_limit", "_unknown", "received")

    def __init__(self, codings: list[bytes], limit: int) -> None:
        self._limit = limit
        self._body = bytearray()
        self.received = 0
        self._inflaters: list[_Inflater] = []
        self._unknown: bytes | None = None
        # Codings are listed in the order they were applied: undo them last to first.
        for coding in reversed(codings):
            if coding in (b"gzip", b"x-gzip", b"deflate"):
                self._inflaters.append(_Inflater(coding))
            elif coding not in (b"identity", b""):
                self._unknown = coding

    def feed(self, data: bytes | bytearray) -> None:
        if not data:
            return
        self.received += len(data)
        limit = self._limit
        if self.received > limit:
            raise too_large(limit)
        if self._unknown is not None:
            raise ResponseParseError(
                "answer has a content encoding that was not asked for: "
                f"{self._unknown.decode('latin-1')!r}"
            )
        room = limit - len(self._body)
        for inflater in self._inflaters:
            data = inflater.decompress(bytes(data), room)
            if len(data) > room:
                raise too_large(limit)
        self._body += data

    def finish(self) -> bytes:
        """The decoded body; raises when a compressed stream is cut short."""
        if self._inflaters and self.received:
            room = self._limit - len(self._body)
            data = b""
            for inflater in self._inflaters:
                if data:
                    data = inflater.decompress(data, room)
                data += inflater.finish()
                if len(data) > room:
                    raise too_large(self._limit)
            self._body += data
        return bytes(self._body)


def too_large(limit: int) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"answer body is larger than the limit of {limit} bytes", limit=limit
    )
