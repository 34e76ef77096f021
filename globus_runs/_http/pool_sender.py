"""The library's pool as a sender, and as an httpx transport for requests others send.

:class:`PoolSender` frames a prepared request for the pool (``Host``, ``Content-Length``, the
target) and nothing else. :class:`PoolTransport` owns the pool of a client: one
:class:`~globus_runs._http.pool.H1Pool` per event loop (or trio run), made on first use; it is
also an httpx transport, so requests sent through ``httpx.AsyncClient`` (a shared
``pooled_http_client`` with hooks, other code's) use the same connections.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from .._body import DEFAULT_MAX_RESPONSE_SIZE
from .._errors import ResponseParseError
from . import pool_errors
from .failures import failure
from .sender import LIMIT_EXTENSION, Answer, Bounds, Prepared
from .tls import environment_tls_context

if TYPE_CHECKING:
    from .h1_parser import Origin
    from .pool import H1Pool

__all__ = ["PoolSender", "PoolTransport"]

_METHODS_WITH_BODY = frozenset({b"POST", b"PUT", b"PATCH"})
_OWN_CODINGS = b"gzip, deflate"
_DECODED_AWAY = frozenset({b"content-encoding", b"content-length"})
_TO_HTTPX: dict[type[Exception], type[httpx.TransportError]] = {
    pool_errors.PoolTimeout: httpx.PoolTimeout,
    pool_errors.ConnectTimeout: httpx.ConnectTimeout,
    pool_errors.ConnectError: httpx.ConnectError,
    pool_errors.ReadTimeout: httpx.ReadTimeout,
    pool_errors.WriteTimeout: httpx.WriteTimeout,
    pool_errors.ReadError: httpx.ReadError,
    pool_errors.WriteError: httpx.WriteError,
    pool_errors.RemoteProtocolError: httpx.RemoteProtocolError,
    pool_errors.LocalProtocolError: httpx.LocalProtocolError,
    pool_errors.PoolError: httpx.TransportError,
}


class PoolTransport(httpx.AsyncBaseTransport):
    """The connection pool of a client that makes its own, or of :func:`pooled_http_client`.

    One :class:`~globus_runs._http.pool.H1Pool` of ``max_connections``, made on first use for the
    running event loop (or trio run), serves both ways in: :meth:`send_direct`, the path a
    :class:`ServiceCaller` takes when it can, and :meth:`handle_async_request`, for requests that
    come through ``httpx.AsyncClient`` (their failures raised as httpx's exceptions, chained
    to the pool's own).
    """

    def __init__(self, max_connections: int, ssl_context: ssl.SSLContext | None = None) -> None:
        self.max_connections = max_connections
        #: The caller's TLS context (``verify=``); else the environment's, made when the first
        #: https connection needs it (plain http never loads a trust store).
        self._ssl_context = ssl_context
        self._h1: H1Pool | None = None  # bound to the event loop (or trio run) it was made in
        self._closed = False

    @property
    def pool(self) -> H1Pool | None:
        """The pool of the event loop (or trio run) that last used this transport, if any."""
        return self._h1

    async def send_direct(
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
        """Send one request; return status, headers and the whole body, decoded.

        ``headers`` must include ``Host``; ``limit``, ``attempt`` and ``idempotent`` as for
        :meth:`~globus_runs._http.pool.H1Pool.request`. Raises the pool's exceptions
        (:mod:`.pool_errors`) and :class:`ResponseParseError`.
        """
        h1 = self._h1
        if h1 is None or not h1.is_current():
            if self._closed:
                raise pool_errors.ConnectError("the connection pool is closed")
            from .pool import H1Pool

            if h1 is not None:
                h1.abandon()  # connections of an event loop (or trio run) that has ended
            h1 = self._h1 = H1Pool(
                self.max_connections, self._ssl_context or environment_tls_context
            )
            await h1.close_with_event_loop()
        answer: Answer = await h1.send(
            origin,
            method,
            target,
            headers,
            body,
            timeouts,
            limit=limit,
            attempt=attempt,
            idempotent=idempotent,
        )
        return answer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}", request=request)
        port = url.port if url.port is not None else (443 if scheme == "https" else 80)
        body = await request.aread()
        # The pool undoes gzip and deflate itself, within its size limit: ask for no other.
        sent = [
            (name, _OWN_CODINGS if name.lower() == b"accept-encoding" else value)
            for name, value in request.headers.raw
        ]
        try:
            status, headers, content = await self.send_direct(
                (scheme.encode("ascii"), url.host, port),
                request.method.encode("ascii"),
                url.raw_path,
                sent,
                body,
                request.extensions.get("timeout", {}),
                limit=request.extensions.get(LIMIT_EXTENSION, DEFAULT_MAX_RESPONSE_SIZE),
            )
        except pool_errors.PoolError as exc:
            error = next(_TO_HTTPX[cls] for cls in type(exc).__mro__ if cls in _TO_HTTPX)
            raise error(str(exc), request=request) from exc
        except ResponseParseError as exc:  # too large, or not decodable
            raise httpx.DecodingError(str(exc), request=request) from exc
        return httpx.Response(
            status,
            # The body is decoded already: httpx must not decode it again.
            headers=[(n, v) for n, v in headers if n.lower() not in _DECODED_AWAY],
            stream=httpx.ByteStream(content),
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        """Close every connection; later requests fail with a connect error."""
        self._closed = True
        h1 = self._h1
        if h1 is not None:
            if h1.is_current():
                await h1.aclose()
            else:
                h1.abandon()


class PoolSender:
    """Sends prepared requests straight to a :class:`PoolTransport`'s pool.

    ``httpx.AsyncClient.send`` parses the URL again, merges headers and cookies, runs the auth
    and redirect machinery and wraps the body in decoders on every request, none of which this
    library uses: for a batch that is more CPU than the pool itself. This sender adds only the
    framing (``Host``, ``Content-Length``, the request target) to what was prepared.
    """

    def __init__(self, pool: PoolTransport, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.pool = pool
        scheme = parts.scheme
        port = parts.port if parts.port is not None else (443 if scheme == "https" else 80)
        self._origin: Origin = (scheme.encode("ascii"), parts.hostname or "", port)
        self._base_length = len(base_url)
        self._prefix = parts.path.encode("ascii")
        self._host = (b"Host", parts.netloc.rpartition("@")[2].encode("ascii"))

    async def send(self, prepared: Prepared, bounds: Bounds) -> Answer:
        """Send once; the answer with its body decoded, or one of the core's errors."""
        headers = [self._host, *prepared.headers]
        method = prepared.method.encode("ascii")
        body = prepared.body
        if body is not None:
            headers.append((b"Content-Length", str(len(body)).encode("ascii")))
        elif method in _METHODS_WITH_BODY:
            headers.append((b"Content-Length", b"0"))  # as httpx does; some proxies want it
        try:
            target = self._prefix + prepared.url[self._base_length :].encode("ascii")
            answer: Answer = await self.pool.send_direct(
                self._origin,
                method,
                target,
                headers,
                body,
                bounds.timeouts,
                limit=bounds.max_response_size,
                attempt=bounds.attempt,
                idempotent=prepared.request.idempotent,
            )
        except Exception as exc:
            error = failure(exc, prepared)
            raise error from error.__cause__
        return answer
