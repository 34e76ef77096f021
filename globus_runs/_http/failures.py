"""The one place a failure to get an answer becomes a library error, whichever sender met it.

Senders call :func:`failure` with whatever they caught; a :class:`ConnectError` only when the
request provably never left, a :class:`ConfigurationError` for a certificate that fails
verification (no retry can change it), and every secret the request carried redacted.
"""

from __future__ import annotations

import ssl
import sys
from collections.abc import Iterable

import httpx

from .._errors import (
    APITimeoutError,
    ConfigurationError,
    ConnectError,
    ConnectTimeoutError,
    GlobusRunsError,
    InvalidRequestError,
    NetworkError,
    ResponseParseError,
)
from . import pool_errors
from .redact import MIN_SECRET, redact, secrets_of
from .sender import Prepared

__all__ = ["failure", "network_error"]


def failure(exc: Exception, prepared: Prepared) -> GlobusRunsError:
    """:func:`network_error` for ``exc``, met sending ``prepared`` (raise it ``from`` its
    ``__cause__``)."""
    request = prepared.request
    if isinstance(exc, ResponseParseError):  # too large, or not decodable
        exc.method, exc.url = request.method, prepared.url
        return exc
    secrets = secrets_of(prepared.authorization, request)
    return network_error(exc, request.method, prepared.url, secrets)


def _tls_verification_failure(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification failure behind ``exc`` (the pool's or httpx's), if any."""
    seen: BaseException | None = exc
    for _ in range(8):  # the chains met here are short; never loop on a cycle
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _never_sent(cause: BaseException | None) -> bool:
    """Whether ``cause`` (of an httpx connect error) proves the request never left: httpx's
    own transport (httpcore) and PoolTransport chain their connect errors to such causes.

    httpcore is looked up, not imported (which takes longer than importing httpx): when it
    was never imported, no error can have come from it.
    """
    if isinstance(cause, pool_errors.ConnectError):
        return True
    httpcore = sys.modules.get("httpcore")
    return httpcore is not None and isinstance(
        cause, httpcore.ConnectError | httpcore.ConnectTimeout | httpcore.PoolTimeout
    )


_HTTPX_CONNECT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def network_error(
    exc: Exception, method: str, url: str, secrets: Iterable[str] = ()
) -> GlobusRunsError:
    """The library's error for a failure to get an answer, however the request was sent.

    A :class:`ConnectError` only when the request provably never left: the library's own pool
    failed to connect, or httpx's own transport did (an httpx connect error caused by
    httpcore's). Any other transport's connect error may come after the request was read,
    so it is a plain :class:`NetworkError` (an :class:`APITimeoutError` for a timeout). An
    exception that is neither httpx's nor the pool's (a foreign transport's own) is a
    :class:`NetworkError` too (an :class:`APITimeoutError` for a ``TimeoutError``); a request
    that cannot be encoded is an :class:`InvalidRequestError`; a :class:`GlobusRunsError` is
    returned as it is, and so is the :class:`ResponseParseError` (a body too large or not
    decodable) behind the ``httpx.DecodingError`` of a :class:`PoolTransport`.

    ``secrets`` are redacted from the message, and a message still holding the start of one
    (an excerpt cut inside it) is not shown; ``__cause__`` is set to ``exc`` only when its
    text holds none of them (raise the result ``from`` its ``__cause__``).
    """
    if isinstance(exc, GlobusRunsError):
        return exc
    known = _configuration_or_body_error(exc, method, url)
    if known is not None:
        return known
    secrets = list(secrets)
    detail = redact(str(exc), secrets)
    if any(secret[:MIN_SECRET] in detail for secret in secrets):
        # The start of a secret, left by an excerpt cut inside it (the pool quotes at most
        # 80 bytes of a malformed line): the detail is not shown at all.
        detail = "(not shown: it quotes part of a secret the request carried)"
    error = _failure_error(exc, detail, method, url)
    # Chained only when its text holds no secret: a traceback would show it again.
    error.__cause__ = exc if detail == str(exc) else None
    return error


def _configuration_or_body_error(exc: Exception, method: str, url: str) -> GlobusRunsError | None:
    """The error for a failure no retry can change: a certificate that fails verification,
    or (through ``httpx.AsyncClient``) a body too large or not decodable."""
    failure = _tls_verification_failure(exc)
    if failure is not None:
        # Retrying would meet the same certificate: the trust settings are what to change.
        return ConfigurationError(
            f"{method} {url}: the server's TLS certificate failed verification "
            f"({failure.verify_message or failure.reason}). To trust a private CA, pass "
            "http_client=pooled_http_client(verify=ssl_context) or set SSL_CERT_FILE"
        )
    if isinstance(exc, httpx.DecodingError) and isinstance(exc.__cause__, ResponseParseError):
        # PoolTransport's word, through httpx.AsyncClient, for a body too large or not
        # decodable: the library's own error, as on every other way out (never retried).
        found = exc.__cause__
        found.method, found.url = method, url
        return found
    return None


def _failure_error(exc: Exception, detail: str, method: str, url: str) -> GlobusRunsError:
    """The error for a failure to get an answer, ``detail`` being its redacted text."""
    name = type(exc).__name__
    timeout = isinstance(exc, httpx.TimeoutException | pool_errors.Timeout | TimeoutError)
    if isinstance(exc, pool_errors.ConnectError) or (
        isinstance(exc, _HTTPX_CONNECT) and _never_sent(exc.__cause__)
    ):
        if timeout:
            return ConnectTimeoutError(f"timed out connecting: {name}", method=method, url=url)
        return ConnectError(f"could not connect: {detail}", method=method, url=url)
    if isinstance(exc, _HTTPX_CONNECT):
        # httpx-aiohttp, for one, reports a server that hung up after reading the request
        # as ConnectTimeout: from a transport we do not know, it proves nothing.
        message = f"{name} from a transport that cannot tell whether the request was sent"
        cls = APITimeoutError if timeout else NetworkError
        return cls(f"{message}: {detail}", method=method, url=url)
    if isinstance(exc, httpx.LocalProtocolError | pool_errors.LocalProtocolError):
        return InvalidRequestError(f"{method} {url}: the request cannot be sent: {detail}")
    if timeout:
        return APITimeoutError(f"timed out waiting for the answer: {name}", method=method, url=url)
    if isinstance(exc, httpx.HTTPError | pool_errors.PoolError):
        return NetworkError(f"connection failed: {name}: {detail}", method=method, url=url)
    return NetworkError(f"the transport failed: {name}: {detail}", method=method, url=url)
