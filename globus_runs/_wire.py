"""Sans-I/O helpers: what a request looks like and what an error answer means.

Nothing here performs I/O; the transport sends what these functions build and hands
the answers back to them.
"""

from __future__ import annotations

import email.utils
import functools
import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import attrs
import httpx

from . import _json
from ._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    InvalidIdError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnprocessableEntityError,
)

__all__ = [
    "ApiRequest",
    "QueryValue",
    "check_base_url",
    "encode_query",
    "error_from_response",
    "id_segment",
    "is_loopback",
    "json_body",
    "parse_retry_after",
    "time_range",
]

QueryValue = str | int | bool | Sequence[str] | None

# Globus run, flow and timer ids are UUIDs in their usual 8-4-4-4-12 hex form. ASCII classes
# only: ``\d`` or ``\w`` would let other scripts' digits through.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@attrs.frozen
class ApiRequest:
    """Everything needed to send one request; built by the service layers, sent by the transport.

    ``resource_server`` selects the token; ``not_found`` is the 404 class this operation raises;
    ``idempotent`` says whether a 5xx or a lost answer may be retried blindly.
    """

    method: str
    path: str
    resource_server: str
    params: tuple[tuple[str, str], ...] = ()
    # Bodies and extra headers may hold secrets (token requests): never in a repr.
    body: bytes | None = attrs.field(default=None, repr=False)
    not_found: type[NotFoundError] = NotFoundError
    idempotent: bool = True
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = attrs.field(default=(), repr=False)
    #: Values sent in the body or ``headers`` that must never appear in an error or a log (a
    #: client secret, a refresh token): redacted from whatever the server echoes back.
    secrets: tuple[str, ...] = attrs.field(default=(), repr=False)


def id_segment(value: object, what: str = "id") -> str:
    """Validate a run, flow or timer id and return it as one path segment.

    Raises :class:`InvalidIdError` for anything but a UUID (``"."``, ``"not-a-uuid"``, a lone
    surrogate, ...), before any request.
    """
    if not isinstance(value, str):
        raise InvalidIdError(f"{what} must be a str, not {type(value).__name__}")
    if not _UUID.fullmatch(value):
        # ascii(): a lone surrogate in the id must not break the message itself.
        raise InvalidIdError(f"{what} {value[:80]!a} is not a valid id (a UUID)")
    return quote(value, safe="")


def _query_text(name: str, value: str | int | bool | Sequence[str]) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    items = list(value)
    if not all(isinstance(item, str) for item in items):
        raise InvalidRequestError(f"{name} must be a str or a sequence of str")
    return ",".join(items)


def encode_query(params: Mapping[str, QueryValue]) -> tuple[tuple[str, str], ...]:
    """Encode query parameters the way Globus expects them.

    ``None`` is left out (never sent as an empty string), booleans are ``true``/``false`` and
    sequences are comma-joined into one value rather than repeated keys.
    """
    return tuple(
        (name, _query_text(name, value)) for name, value in params.items() if value is not None
    )


def _iso(value: datetime | None, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, datetime):
        raise InvalidRequestError(f"{name} bounds must be datetime or None")
    if value.tzinfo is None:
        raise InvalidRequestError(f"{name} bounds must be timezone-aware datetimes")
    return value.isoformat()


def time_range(value: tuple[datetime | None, datetime | None] | None, name: str) -> str | None:
    """Encode a ``(start, end)`` pair as the half-open ``"DT1,DT2"`` filter, either end open."""
    if value is None:
        return None
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise InvalidRequestError(f"{name} must be a (start, end) pair")
    start, end = value
    if start is None and end is None:
        return None
    return f"{_iso(start, name)},{_iso(end, name)}"


def json_body(document: Mapping[str, Any]) -> bytes:
    """Serialize a request body, turning an unserializable value into a typed error."""
    try:
        return bytes(_json.dumps(document))
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"request body is not JSON serializable: {exc}") from None


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a literal loopback address (``127.0.0.1``, ``::1``...) or
    ``localhost``; any other name (``a.localhost``, say) is not, whatever it resolves to."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@functools.cache
def _localhost_is_loopback() -> bool:
    """Whether the name ``localhost`` resolves to loopback addresses only (asked once)."""
    try:
        found = socket.getaddrinfo("localhost", None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    return bool(found) and all(
        ipaddress.ip_address(str(address[4][0]).partition("%")[0]).is_loopback for address in found
    )


# Characters no URL may hold as they are: controls, spaces and the ones RFC 3986 excludes.
_BAD_URL_CHARACTER = re.compile(r'[\x00-\x20\x7f-\x9f\ud800-\udfff<>"{}|\\^`\s]')
# The characters of a host name (letters of any script, digits, "-", "_", "."); whether the
# name resolves is for the connection to find out.
_HOST_NAME = re.compile(r"[\w.-]+")


def _check_host(url: str, host: str) -> None:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOST_NAME.fullmatch(host):
            raise ConfigurationError(f"base_url {url!r} has an invalid host {host!r}") from None


def check_base_url(url: str) -> str:
    """Return ``url`` without a trailing slash; refuse ``http`` to anything but loopback.

    A URL that cannot be sent to (a bad port, a space or control character, a malformed
    host) is a :class:`ConfigurationError` here, when the client is built.
    """
    if not isinstance(url, str):
        raise ConfigurationError(f"base_url must be a str, not {type(url).__name__}")
    _, scheme_sep, rest = url.partition("://")
    if scheme_sep and "@" in re.split(r"[/?#]", rest, maxsplit=1)[0]:
        # Checked first, so that no other message quotes the credentials.
        raise ConfigurationError(
            "base_url must not carry credentials before its host (user:password@): the "
            "client authenticates with its authorizer, and a URL is quoted in errors and logs"
        )
    bad = _BAD_URL_CHARACTER.search(url)
    if bad is not None:
        raise ConfigurationError(f"base_url {url!a} has an invalid character {bad.group()!a}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"base_url {url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"base_url {url!r} is not an http(s) URL")
    if port == 0:
        raise ConfigurationError(f"base_url {url!r} has port 0, which cannot be connected to")
    _check_host(url, parts.hostname)
    try:
        httpx.URL(url)
    except httpx.InvalidURL as exc:  # whatever else the HTTP layer would refuse later
        raise ConfigurationError(f"base_url {url!r} is not a valid URL: {exc}") from None
    if parts.query or parts.fragment:
        raise ConfigurationError(f"base_url {url!r} must not have a query or fragment")
    if parts.scheme == "http":
        _check_cleartext(url, parts.hostname)
    return url.rstrip("/")


def _check_cleartext(url: str, host: str) -> None:
    """Refuse plain http to anything but a literal loopback address, or ``localhost`` when it
    resolves to loopback addresses only."""
    if not is_loopback(host):
        raise ConfigurationError(
            f"base_url {url!r} must use https: only a loopback address (127.0.0.1, ::1) or "
            "localhost may be reached over http"
        )
    if host == "localhost" and not _localhost_is_loopback():
        raise ConfigurationError(
            f"base_url {url!r} must use https: the name localhost does not resolve to loopback "
            "addresses only on this machine (use http://127.0.0.1)"
        )


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(0.0, seconds)


_STATUS_CLASSES: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def _validation_messages(items: Iterable[Any]) -> list[str]:
    messages = []
    for item in items:
        if isinstance(item, dict):
            loc = item.get("loc")
            where = ".".join(str(part) for part in loc) if isinstance(loc, list) else ""
            msg = str(item.get("msg", ""))
            messages.append(f"{msg}: {where}" if where else msg)
        else:
            messages.append(str(item))
    return messages


def _error_member(error: Any) -> tuple[str | None, list[str]]:
    """Code and messages of an ``error`` member: an object (Flows) or a string."""
    if isinstance(error, str):
        return None, [error]
    if not isinstance(error, dict):
        return None, []
    raw_code = error.get("code")
    code = raw_code if isinstance(raw_code, str) else None
    messages: list[str] = []
    message = error.get("message")
    if isinstance(message, str) and message:
        messages.append(message)
    detail = error.get("detail")
    if isinstance(detail, list):
        messages.extend(_validation_messages(detail))
    elif isinstance(detail, str) and detail:
        messages.append(detail)
    return code, messages


def _messages_from(document: Any) -> tuple[str | None, list[str], str | None]:
    """Pull (code, messages, request id) out of a Flows- or Timers-shaped error document."""
    if not isinstance(document, dict):
        return None, [], None
    request_id = document.get("debug_id") or document.get("request_id")
    request_id = request_id if isinstance(request_id, str) else None
    code, messages = _error_member(document.get("error"))
    detail = document.get("detail")
    if not messages and isinstance(detail, list):
        # FastAPI-style validation answer: {"detail": [{"loc", "msg", "type"}]}
        code = code or "VALIDATION_ERROR"
        messages = _validation_messages(detail)
    elif not messages and isinstance(detail, str):
        messages.append(detail)
    if not messages:
        message = document.get("message")
        if isinstance(message, str):
            messages.append(message)
    return code, messages, request_id


def error_from_response(
    status: int,
    text: str,
    *,
    headers: Mapping[str, str] | None = None,
    method: str = "",
    url: str = "",
    not_found: type[NotFoundError] = NotFoundError,
) -> APIError:
    """Map a non-2xx answer to the error class for its status, whatever its body holds."""
    try:
        document = _json.loads(text) if text.strip() else None
    except ValueError:
        document = None
    try:
        code, messages, request_id = _messages_from(document)
    except RecursionError:  # nested too deeply to print: fall back to the body's text
        code, messages, request_id = None, [], None
    if not messages:
        reason = _short_text(text)
        messages = [reason] if reason else [f"HTTP {status}"]
    if status == 404:
        cls: type[APIError] = not_found
    elif status >= 500:
        cls = ServerError
    else:
        cls = _STATUS_CLASSES.get(status, APIError)
    headers = headers or {}
    retry_after = parse_retry_after(headers.get("retry-after"))
    if request_id is None:
        request_id = headers.get("x-request-id")
    return cls(
        status,
        code or _default_code(status),
        "; ".join(messages),
        messages=messages,
        request_id=request_id,
        method=method,
        url=url,
        body=text,
        retry_after=retry_after,
    )


# A tag ends at the next "<" as well as at ">": a run of "<" never makes a match scan ahead.
_TAGS = re.compile(r"<[^<>]+>")
_SPACES = re.compile(r"\s+")
#: How much of a body the excerpt is taken from: the work is bounded whatever the body's size.
_EXCERPT_SOURCE = 4096
_EXCERPT = 200


def _short_text(text: str) -> str:
    """A one-line readable excerpt of a non-JSON body (an HTML page from a proxy, say).

    Only the first ``_EXCERPT_SOURCE`` characters are read, in linear time.
    """
    plain = _SPACES.sub(" ", _TAGS.sub(" ", text[:_EXCERPT_SOURCE])).strip()
    return plain[:_EXCERPT]


def _default_code(status: int) -> str:
    return {
        400: "BAD_REQUEST",
        401: "AUTHENTICATION_ERROR",
        403: "FORBIDDEN",
        404: "NOT_FOUND",
        409: "CONFLICT",
        422: "UNPROCESSABLE_ENTITY",
        429: "RATE_LIMITED",
    }.get(status, "SERVER_ERROR" if status >= 500 else "ERROR")
