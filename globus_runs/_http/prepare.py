"""One pure step that builds a request as it goes out: method, URL (the query encoded),
every header (defaults, ``Authorization``, content type, user agent, the request's own) and
body, once, whichever sender takes it. Whatever cannot be sent is refused here, typed, before
anything is sent."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import httpx

from .._auth import Authorizer
from .._errors import InvalidRequestError
from .._version import __version__
from .._wire import ApiRequest
from .sender import Prepared

__all__ = ["DEFAULT_HEADERS", "USER_AGENT", "check_authorization", "prepare", "url_for"]


USER_AGENT = f"globus-runs/{__version__} httpx/{httpx.__version__}"
#: The headers every request carries, whichever way it is sent.
DEFAULT_HEADERS: tuple[tuple[str, str], ...] = (
    ("Accept", "application/json"),
    ("Accept-Encoding", "gzip, deflate"),
    ("User-Agent", USER_AGENT),
)
_DEFAULT_BYTES = [(name.encode("ascii"), value.encode("ascii")) for name, value in DEFAULT_HEADERS]


def url_for(base_url: str, request: ApiRequest) -> str:
    """The request's URL; :class:`InvalidRequestError` for a query value that cannot be
    sent (a lone surrogate has no UTF-8 form), before anything is sent."""
    url = base_url + request.path
    if request.params:
        try:
            query = urlencode(request.params, quote_via=quote, safe=",:")
        except UnicodeEncodeError:
            name = next(name for name, value in request.params if not _encodable(value))
            raise InvalidRequestError(
                f"{request.method} {url}: the value of {name!a} cannot be sent: it holds a "
                "character with no UTF-8 form (a lone surrogate)"
            ) from None
        url = f"{url}?{query}"
    return url


def check_authorization(header: str | None, authorizer: Authorizer | None) -> str | None:
    """``header``, or :class:`InvalidRequestError` when it cannot be sent on every way out (a
    line break would be refused by a connection with an error quoting it, or split the
    request); the error never quotes it."""
    if header is not None and not _sendable_header(header):
        raise _refuse_header(authorizer)
    return header


def prepare(request: ApiRequest, url: str, authorization: str | None) -> Prepared:
    """``request`` as it goes out to ``url`` with ``authorization`` (checked already).

    The request's own headers replace defaults of the same name.
    """
    headers = _DEFAULT_BYTES.copy()
    if authorization is not None:
        headers.append((b"Authorization", authorization.encode("ascii")))
    if request.body is not None:
        headers.append((b"Content-Type", request.content_type.encode("utf-8")))
    if request.headers:
        own = [(name.encode("utf-8"), value.encode("utf-8")) for name, value in request.headers]
        replaced = {name.lower() for name, _ in own}
        headers = [pair for pair in headers if pair[0].lower() not in replaced] + own
    return Prepared(request.method, url, headers, request.body, request, authorization)


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _sendable_header(header: object) -> bool:
    """Whether an ``Authorization`` value can go out on every way (httpx refuses a value with
    a space at either end, so does every way)."""
    return (
        isinstance(header, str)
        and header.isascii()
        and header.isprintable()
        and header[-1:] != " "
        and header[:1] != " "
    )


def _refuse_header(authorizer: Authorizer | None) -> InvalidRequestError:
    """The error for an ``Authorization`` header that cannot be sent; never quotes it."""
    return InvalidRequestError(
        f"the Authorization header from {type(authorizer).__name__} cannot be sent: it is not "
        "a str, or the token holds a line break, a control character or a character outside "
        "ASCII, or ends in a space"
    )
