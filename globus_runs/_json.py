"""JSON encoding and decoding, with orjson when it is installed."""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Callable, Collection
from datetime import date, datetime
from json.scanner import make_scanner
from typing import Any, TypeVar

__all__ = ["dumps", "loads", "loads_items", "text_of"]

T = TypeVar("T")

try:
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    orjson = None  # type: ignore[assignment]


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _std_dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_default).encode()


def _std_loads(data: bytes | str) -> Any:
    try:
        return json.loads(data)
    except RecursionError:  # orjson refuses such nesting with a ValueError too
        raise ValueError("JSON nested too deeply") from None


if orjson is not None:
    dumps = orjson.dumps
    loads = orjson.loads
else:  # pragma: no cover - depends on the environment
    dumps = _std_dumps
    loads = _std_loads


_TEXT_CHUNK = 2**20


def text_of(content: bytes) -> str:
    """``content`` decoded as UTF-8, a mebibyte at a time: one call for a large body would
    hold the interpreter's lock for tens of milliseconds. ``ValueError`` when it is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    parts = [
        decoder.decode(content[at : at + _TEXT_CHUNK]) for at in range(0, len(content), _TEXT_CHUNK)
    ]
    parts.append(decoder.decode(b"", final=True))
    return "".join(parts)


class _Scanner:
    """The standard library's C scanner, one JSON value at a time, giving what :func:`loads`
    gives: a value it may read otherwise (an ``\\u`` escape, which may be a lone surrogate; a
    number out of a double's or a 64-bit integer's range; ``NaN``) is decoded again by
    :func:`loads`, which refuses or reads it as it does everywhere."""

    def __init__(self) -> None:
        self.unsure = False
        decoder = json.JSONDecoder()
        if loads is not _std_loads:
            decoder.parse_float = self._float
            decoder.parse_int = self._int
            decoder.parse_constant = self._constant
        self._scan = make_scanner(decoder)  # type: ignore[arg-type]

    def _float(self, text: str) -> float:
        value = float(text)
        if math.isinf(value):
            self.unsure = True
        return value

    def _int(self, text: str) -> int:
        value = int(text)
        if not -(2**63) <= value < 2**64:
            self.unsure = True
        return value

    def _constant(self, text: str) -> float:
        self.unsure = True
        return math.nan

    def value(self, text: str, at: int) -> tuple[Any, int]:
        """The value starting at ``at`` and the index just after it."""
        self.unsure = False
        try:
            value, end = self._scan(text, at)
        except StopIteration:
            raise ValueError(f"expected a JSON value at {at}") from None
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        if self.unsure or text.find("\\u", at, end) != -1:
            value = loads(text[at:end])
        return value, end


_SPACE = re.compile(r"[ \t\n\r]*")
#: Bytes of a body decoded into the window of :class:`_Reader` at a time (at least).
_WINDOW = _TEXT_CHUNK


class _Reader:
    """The JSON text of a UTF-8 body, read a value at a time from a window of its text: the
    window is decoded a mebibyte at a time (more for a larger value), and what was read is
    dropped from it. The body is never whole as text."""

    def __init__(self, content: bytes) -> None:
        self._content = memoryview(content)
        self._decoded = 0  # bytes of the content decoded so far
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._text = ""
        self._at = 0
        self._scanner = _Scanner()

    def _more(self, least: int = 0) -> bool:
        """Decode at least ``least`` more bytes into the window; ``False`` at the end."""
        if self._decoded == len(self._content):
            return False
        chunk = self._content[self._decoded : self._decoded + max(least, _WINDOW)]
        self._decoded += len(chunk)
        final = self._decoded == len(self._content)
        self._text = self._text[self._at :] + self._decoder.decode(chunk, final)
        self._at = 0
        return True

    def char(self) -> str:
        """The next character that is not whitespace, left unread (``""`` at the end)."""
        while True:
            self._at = _SPACE.match(self._text, self._at).end()  # type: ignore[union-attr]
            if self._at < len(self._text) or not self._more():
                return self._text[self._at : self._at + 1]

    def skip(self) -> None:
        """Read the character :meth:`char` gave."""
        self._at += 1

    def value(self) -> Any:
        """The next value, read."""
        self.char()
        while True:
            try:
                value, end = self._scanner.value(self._text, self._at)
            except ValueError:
                # A value cut at the window's end reads as an error: read on, and again.
                if self._more(len(self._text)):
                    continue
                raise
            # A number at the window's end may go on in the next chunk.
            if end == len(self._text) and self._more(len(self._text)):
                continue
            self._at = end
            return value


def loads_items(
    content: bytes, keys: Collection[str], convert: Callable[[Any], T]
) -> dict[str, Any]:
    """The JSON object of the UTF-8 ``content``, as :func:`loads` decodes it, except that the
    items of the arrays of its members named in ``keys`` are decoded one at a time, passed to
    ``convert`` and dropped: such a member's value is the list of what ``convert`` returned.

    A large listing is never whole as decoded objects, only each item in turn, nor whole as
    text: the thread doing this hands the interpreter's lock over between two items, and
    frees no large tree of objects at the end. ``ValueError`` when ``content`` is not a JSON
    object in UTF-8 (decode it with :func:`loads` for the exact error); what ``convert``
    raises goes through.
    """
    reader = _Reader(content)
    if reader.char() != "{":
        raise ValueError("expected a JSON object")
    reader.skip()
    found: dict[str, Any] = {}
    if reader.char() == "}":
        reader.skip()
    else:
        while True:
            if reader.char() != '"':
                raise ValueError("expected a member name")
            key = reader.value()
            if reader.char() != ":":
                raise ValueError("expected ':'")
            reader.skip()
            if key in keys and reader.char() == "[":
                reader.skip()
                found[key] = _items(reader, convert)
            else:
                found[key] = reader.value()
            separator = reader.char()
            reader.skip()
            if separator == "}":
                break
            if separator != ",":
                raise ValueError("expected ',' or '}'")
    if reader.char():
        raise ValueError("unexpected data after the object")
    return found


def _items(reader: _Reader, convert: Callable[[Any], T]) -> list[T]:
    """The items of the array whose ``[`` was read, each converted."""
    converted: list[T] = []
    if reader.char() == "]":
        reader.skip()
        return converted
    while True:
        converted.append(convert(reader.value()))
        separator = reader.char()
        reader.skip()
        if separator == "]":
            return converted
        if separator != ",":
            raise ValueError("expected ',' or ']'")
