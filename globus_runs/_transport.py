"""The transport core shared by every service client; the only module that imports httpx.

It sends an :class:`~globus_runs._wire.ApiRequest`, asks the authorizer for a header on every
attempt, retries what the :class:`RetryPolicy` allows (never sleeping past the caller's
deadline) and turns every failure into a :class:`GlobusRunsError`.
"""

from __future__ import annotations

import inspect
import logging
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import anyio
import attrs
import httpcore
import httpx

from . import _json
from ._auth import Authorizer
from ._errors import (
    APIError,
    APITimeoutError,
    ConnectError,
    ConnectTimeoutError,
    GlobusRunsError,
    NetworkError,
    ResponseParseError,
)
from ._h1 import Answer, H1Pool, Origin, encode_request, running_loop
from ._retry import RetryEvent, RetryPolicy, rate_limit_listener
from ._version import __version__
from ._wire import ApiRequest, error_from_response

__all__ = [
    "AsyncBaseTransport",
    "AsyncClient",
    "Response",
    "ShardedPool",
    "Transport",
    "asgi_transport",
    "pooled_client",
]

AsyncClient = httpx.AsyncClient
AsyncBaseTransport = httpx.AsyncBaseTransport

logger = logging.getLogger("globus_runs")

USER_AGENT = f"globus-runs/{__version__} httpx/{httpx.__version__}"
_DEFAULT_POOL = 100
_SHARD_SIZE = 4


class _InProcessTransport(httpx.ASGITransport):
    """``httpx.ASGITransport`` failing the way a socket would.

    An app dropping the connection (raising :class:`ConnectionError`) gives
    ``httpx.ReadError``, and the request's read timeout bounds the wait for the
    answer (``httpx.ReadTimeout``), which the plain ASGI transport ignores.
    """

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        read_timeout: float | None = timeouts.get("read")
        with anyio.move_on_after(read_timeout if read_timeout is not None else float("inf")):
            try:
                return await super().handle_async_request(request)
            except ConnectionError as exc:
                raise httpx.ReadError(f"connection dropped: {exc}", request=request) from exc
        raise httpx.ReadTimeout("timed out waiting for the answer", request=request)


def asgi_transport(app: Any) -> httpx.AsyncBaseTransport:
    """An in-process transport that hands requests straight to an ASGI app (the emulator).

    Dropped connections and read timeouts surface as the same httpx errors as over a socket.
    """
    return _InProcessTransport(app=app)


@attrs.frozen
class Response:
    """A 2xx answer, read in full."""

    status: int
    content: bytes
    method: str
    url: str

    def json(self) -> Any:
        """Decode the body, raising :class:`ResponseParseError` when it is not JSON."""
        try:
            return _json.loads(self.content)
        except ValueError:
            raise ResponseParseError(
                "answer is not valid JSON",
                text=self.content.decode("utf-8", "replace"),
                method=self.method,
                url=self.url,
            ) from None


class _Releasing(httpx.AsyncByteStream):
    """A response body that calls ``release`` once, when it is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._stream.__aiter__()

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class ShardedPool(httpx.AsyncBaseTransport):
    """A connection pool made of small httpx pools ("shards"), created as they are needed.

    httpx's pool (httpcore's) walks all of its connections, some twice over, every time a request
    starts or ends, so its CPU cost per request grows with the number of connections: past a
    few dozen it costs more than everything else a request does, and a batch at concurrency
    64 crawls. Spread over shards of ``shard_size`` connections every walk stays short.

    A request goes to the first shard with a free connection (so light traffic keeps reusing
    the same few connections); a new shard is opened only when all are busy. The counts of
    requests in flight only steer that choice: a count left high by a response never closed
    makes that shard look busy, it blocks nothing.

    Besides answering ``httpx.Request`` objects, the pool sends plain ``httpcore`` requests
    (:meth:`send_direct`): the :class:`Transport` of a client that owns its pool takes that
    path and skips the per-request work of ``httpx.AsyncClient`` it does not need.
    """

    def __init__(self, max_connections: int, *, shard_size: int = _SHARD_SIZE) -> None:
        self.max_connections = max_connections
        self._shard_size = shard_size
        self._max_shards = -(-max_connections // shard_size)
        self._limits = httpx.Limits(
            max_connections=shard_size, max_keepalive_connections=shard_size
        )
        # One TLS context for every shard: building one loads the CA bundle.
        self._ssl_context = httpx.create_ssl_context(verify=True, trust_env=True)
        self._shards: list[httpx.AsyncHTTPTransport] = []
        self._cores: list[httpcore.AsyncConnectionPool] = []
        self._busy: list[int] = []
        self._h1: H1Pool | None = None
        self._add_shard()
        #: Whether :meth:`send_direct` can be used: httpx keeps the httpcore pool it sends
        #: through as ``_pool``; a later httpx without it leaves only the httpx path.
        self.direct = len(self._cores) == len(self._shards)

    def _add_shard(self) -> None:
        shard = httpx.AsyncHTTPTransport(verify=self._ssl_context, limits=self._limits)
        core = getattr(shard, "_pool", None)
        if isinstance(core, httpcore.AsyncConnectionPool):
            self._cores.append(core)
        self._shards.append(shard)
        self._busy.append(0)

    def _pick(self) -> int:
        size = self._shard_size
        for index, busy in enumerate(self._busy):
            if busy < size:
                return index
        if len(self._shards) < self._max_shards:
            self._add_shard()
            return len(self._shards) - 1
        # More requests than connections: queue in the least busy shard, as one pool would.
        return self._busy.index(min(self._busy))

    async def send_direct(
        self,
        origin: Origin,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | None,
        timeouts: dict[str, float | None],
    ) -> Answer:
        """Send one request; return status, headers and the whole body.

        On asyncio the request goes through this pool's :class:`~globus_runs._h1.H1Pool`, on
        trio through a shard's httpcore pool (only when :attr:`direct` is true). ``headers``
        must include ``Host``. Raises the ``httpcore`` exceptions (the caller maps them).
        """
        loop = running_loop()
        if loop is not None:
            h1 = self._h1
            if h1 is None or h1.loop is not loop:
                h1 = self._h1 = H1Pool(self.max_connections, self._ssl_context)
            data = encode_request(method, target, headers, body)
            return await h1.request(origin, method, data, timeouts)
        scheme, host, port = origin
        request = httpcore.Request(
            method,
            httpcore.URL(scheme=scheme, host=host.encode("ascii"), port=port, target=target),
            headers=headers,
            content=body,
            extensions={"timeout": timeouts},
        )
        index = self._pick()
        busy = self._busy
        busy[index] += 1
        try:
            response = await self._cores[index].handle_async_request(request)
            try:
                content = await response.aread()
            finally:
                await response.aclose()
            return response.status, response.headers, content
        finally:
            busy[index] -= 1

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = self._pick()
        busy = self._busy
        busy[index] += 1

        def release() -> None:
            busy[index] -= 1

        try:
            response = await self._shards[index].handle_async_request(request)
        except BaseException:
            release()
            raise
        if isinstance(response.stream, httpx.AsyncByteStream):
            response.stream = _Releasing(response.stream, release)
        else:  # pragma: no cover - httpx's async transport always answers with an async stream
            release()
        return response

    async def aclose(self) -> None:
        if self._h1 is not None and not self._h1.loop.is_closed():
            await self._h1.aclose()
        for shard in self._shards:
            await shard.aclose()


def pooled_client(
    max_connections: int,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float | None = 60.0,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` on a :class:`ShardedPool` of ``max_connections``, to share
    between several clients (``transport`` replaces the pool, for the in-process emulator)."""
    return httpx.AsyncClient(
        transport=transport if transport is not None else ShardedPool(max_connections),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
    )


def _pool_size(client: httpx.AsyncClient) -> int | None:
    """The connection limit of a client's default transport, when it can be read."""
    transport = getattr(client, "_transport", None)
    if isinstance(transport, ShardedPool):
        return transport.max_connections
    pool = getattr(transport, "_pool", None)
    size = getattr(pool, "_max_connections", None)
    return size if isinstance(size, int) else None


class Transport:
    """Sends requests for one service on one connection pool, with retries and error mapping."""

    def __init__(
        self,
        *,
        base_url: str,
        authorizer: Authorizer | None,
        http_client: httpx.AsyncClient | None,
        transport: httpx.AsyncBaseTransport | None,
        timeout: float | None,
        retry: RetryPolicy,
        concurrency: int,
    ) -> None:
        self.base_url = base_url
        self.authorizer = authorizer
        self.retry = retry
        self._timeout = httpx.Timeout(timeout)
        self._owns_client = http_client is None
        base_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if http_client is None:
            pool = max(concurrency, _DEFAULT_POOL)
            http_client = httpx.AsyncClient(
                transport=transport if transport is not None else ShardedPool(pool),
                # For the proxy routes httpx builds from the environment, if any.
                limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
                timeout=self._timeout,
                follow_redirects=False,
                headers=base_headers,
            )
            self.pool_size: int | None = None if transport is not None else pool
            # Our own client already carries the headers and the timeout: httpx merges
            # per-request headers one by one, at a cost that shows on every request.
            self._request_headers: dict[str, str] = {}
            self._request_timeout: httpx.Timeout | None = None
        else:
            self.pool_size = _pool_size(http_client)
            self._request_headers = base_headers
            self._request_timeout = self._timeout
        self.http_client = http_client
        self._direct = _DirectRoute.of(http_client, base_url, self._timeout)

    def shares_pool_with(self, other: Transport) -> bool:
        """True when both transports send through the same ``httpx.AsyncClient``."""
        return self.http_client is other.http_client

    async def aclose(self) -> None:
        """Close the pool if this transport created it; a shared client is left open."""
        if self._owns_client:
            await self.http_client.aclose()

    def url_for(self, request: ApiRequest) -> str:
        url = self.base_url + request.path
        if request.params:
            url = f"{url}?{urlencode(request.params, quote_via=quote, safe=',:')}"
        return url

    async def send(self, request: ApiRequest) -> Response:
        """Send ``request``, retrying as the policy allows; return the 2xx answer or raise."""
        url = self.url_for(request)
        policy = self.retry
        started = anyio.current_time()
        retry_number = 0
        renewed = False
        while True:
            header = None
            if self.authorizer is not None:
                header = await self.authorizer.get_authorization_header(request.resource_server)
            try:
                if self._direct is not None:
                    status, headers, content = await self._direct.send(request, url, header)
                else:
                    status, headers, content = await self._send_once(request, url, header)
            except NetworkError as exc:
                error: GlobusRunsError = exc
            else:
                if 200 <= status < 300:
                    return Response(status, content, request.method, url)
                error = error_from_response(
                    status,
                    content.decode("utf-8", "replace"),
                    headers=_header_map(headers),
                    method=request.method,
                    url=url,
                    not_found=request.not_found,
                )
                if status == 401 and self.authorizer is not None and not renewed:
                    renewed = True
                    if await self.authorizer.handle_unauthorized(request.resource_server, header):
                        logger.debug("%s %s: token rejected, retrying once", request.method, url)
                        continue
            retry_number += 1
            delay = self._retry_delay(request, error, retry_number, started)
            if isinstance(error, APIError) and error.http_status == 429:
                listener = rate_limit_listener.get()
                if listener is not None:
                    listener(error.retry_after if error.retry_after is not None else delay or 1.0)
            if delay is None:
                error.attempts = retry_number
                raise error
            logger.debug(
                "%s %s: retry %d of %d in %.2fs after %s",
                request.method,
                url,
                retry_number,
                policy.max_retries,
                delay,
                type(error).__name__,
            )
            if policy.on_retry is not None:
                outcome = policy.on_retry(
                    RetryEvent(request.method, url, retry_number, delay, error)
                )
                if inspect.isawaitable(outcome):
                    await outcome
            await anyio.sleep(delay)

    def _retry_delay(
        self, request: ApiRequest, error: GlobusRunsError, retry_number: int, started: float
    ) -> float | None:
        """Seconds to wait before retrying, or None when ``error`` must be raised now."""
        policy = self.retry
        if retry_number > policy.max_retries:
            return None
        if not policy.is_retryable(error, idempotent=request.idempotent):
            return None
        delay = policy.delay_for(error, retry_number)
        if delay is None:
            return None
        now = anyio.current_time()
        if policy.max_elapsed is not None and now - started + delay > policy.max_elapsed:
            return None
        # Sleeping past the caller's deadline would only turn this error into a cancellation.
        if now + delay >= anyio.current_effective_deadline():
            return None
        return delay

    async def _send_once(self, request: ApiRequest, url: str, authorization: str | None) -> Answer:
        """Send once through ``httpx.AsyncClient`` (a client given to us, or the emulator)."""
        headers = dict(self._request_headers)
        if authorization is not None:
            headers["Authorization"] = authorization
        if request.body is not None:
            headers["Content-Type"] = request.content_type
        if request.headers:
            headers.update(request.headers)
        try:
            if self._request_timeout is None:
                built = self.http_client.build_request(
                    request.method, url, content=request.body, headers=headers
                )
            else:
                built = self.http_client.build_request(
                    request.method,
                    url,
                    content=request.body,
                    headers=headers,
                    timeout=self._request_timeout,
                )
            answer = await self.http_client.send(built, follow_redirects=False)
            return answer.status_code, answer.headers.raw, answer.content
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise ConnectTimeoutError(
                f"timed out connecting: {type(exc).__name__}", method=request.method, url=url
            ) from exc
        except httpx.ConnectError as exc:
            raise ConnectError(f"could not connect: {exc}", method=request.method, url=url) from exc
        except httpx.TimeoutException as exc:
            raise APITimeoutError(
                f"timed out waiting for the answer: {type(exc).__name__}",
                method=request.method,
                url=url,
            ) from exc
        except httpx.HTTPError as exc:
            raise NetworkError(
                f"connection failed: {type(exc).__name__}: {exc}", method=request.method, url=url
            ) from exc


def _header_map(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """The headers of an answer by lower-cased name (the last of repeated ones)."""
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in headers}


def _decode_body(content: bytes, encoding: bytes, method: str, url: str) -> bytes:
    """Undo a ``Content-Encoding`` we asked for (gzip or deflate)."""
    coding = encoding.strip().lower()
    try:
        if coding in (b"gzip", b"x-gzip"):
            return zlib.decompress(content, 16 + zlib.MAX_WBITS)
        if coding == b"deflate":
            try:
                return zlib.decompress(content)
            except zlib.error:  # some servers send deflate without its zlib header
                return zlib.decompress(content, -zlib.MAX_WBITS)
    except zlib.error as exc:
        raise ResponseParseError(
            f"answer body is not valid {coding.decode('latin-1')}: {exc}", method=method, url=url
        ) from None
    if coding in (b"", b"identity"):
        return content
    raise ResponseParseError(
        f"answer has a content encoding that was not asked for: {coding.decode('latin-1')!r}",
        method=method,
        url=url,
    )


class _DirectRoute:
    """Sends requests straight to the :class:`ShardedPool` of a client we created.

    ``httpx.AsyncClient.send`` parses the URL again, merges headers and cookies, runs the auth and
    redirect machinery and wraps the body in decoders on every request, none of which this
    library uses (it sends its own headers, follows no redirects, keeps no cookies): for a batch
    that is more CPU than the connection pool itself. This route builds the ``httpcore``
    request from parts prepared once and maps ``httpcore``'s errors as the client maps httpx's.
    """

    def __init__(
        self,
        pool: ShardedPool,
        base_url: str,
        timeout: httpx.Timeout,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        parts = urlsplit(base_url)
        self._pool = pool
        scheme = parts.scheme
        port = parts.port if parts.port is not None else (443 if scheme == "https" else 80)
        self._origin: Origin = (scheme.encode("ascii"), parts.hostname or "", port)
        self._base_length = len(base_url)
        self._prefix = parts.path.encode("ascii")
        self._headers = [(b"Host", parts.netloc.rpartition("@")[2].encode("ascii")), *headers]
        self._timeouts = timeout.as_dict()

    @classmethod
    def of(
        cls, client: httpx.AsyncClient, base_url: str, timeout: httpx.Timeout
    ) -> _DirectRoute | None:
        """The route for ``client`` when it is on a :class:`ShardedPool`, else None.

        None also when httpx would send ``base_url`` elsewhere (a proxy configured in the
        environment), when the client has hooks or auth of its own, or for a URL that is not
        plain ASCII: those requests go through ``httpx.AsyncClient``.
        """
        pool = getattr(client, "_transport", None)
        route = getattr(client, "_transport_for_url", None)
        if not isinstance(pool, ShardedPool) or not pool.direct or route is None:
            return None
        if client.auth is not None or any(client.event_hooks.values()) or client.cookies:
            return None
        if not base_url.isascii() or route(httpx.URL(base_url)) is not pool:
            return None
        headers = [
            (b"Accept", b"application/json"),
            (b"Accept-Encoding", b"gzip, deflate"),
            (b"User-Agent", USER_AGENT.encode("ascii")),
        ]
        return cls(pool, base_url, timeout, headers)

    async def send(self, request: ApiRequest, url: str, authorization: str | None) -> Answer:
        """Send once; return the answer with its body decoded, or raise a :class:`NetworkError`."""
        headers = self._headers.copy()
        if authorization is not None:
            headers.append((b"Authorization", authorization.encode("utf-8")))
        body = request.body
        if body is not None:
            headers.append((b"Content-Type", request.content_type.encode("utf-8")))
            headers.append((b"Content-Length", str(len(body)).encode("ascii")))
        for name, value in request.headers:
            headers.append((name.encode("utf-8"), value.encode("utf-8")))
        target = self._prefix + url[self._base_length :].encode("ascii")
        try:
            status, answer_headers, content = await self._pool.send_direct(
                self._origin, request.method.encode("ascii"), target, headers, body, self._timeouts
            )
        except (httpcore.ConnectTimeout, httpcore.PoolTimeout) as exc:
            raise ConnectTimeoutError(
                f"timed out connecting: {type(exc).__name__}", method=request.method, url=url
            ) from exc
        except httpcore.ConnectError as exc:
            raise ConnectError(f"could not connect: {exc}", method=request.method, url=url) from exc
        except httpcore.TimeoutException as exc:
            raise APITimeoutError(
                f"timed out waiting for the answer: {type(exc).__name__}",
                method=request.method,
                url=url,
            ) from exc
        except (
            httpcore.NetworkError,
            httpcore.ProtocolError,
            httpcore.ProxyError,
            httpcore.UnsupportedProtocol,
        ) as exc:
            raise NetworkError(
                f"connection failed: {type(exc).__name__}: {exc}", method=request.method, url=url
            ) from exc
        for header, header_value in answer_headers:
            if header.lower() == b"content-encoding":
                for coding in reversed(header_value.split(b",")):
                    content = _decode_body(content, coding, request.method, url)
        return status, answer_headers, content
