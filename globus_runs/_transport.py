"""The transport core shared by every service client; the only module that imports httpx.

It sends an :class:`~globus_runs._wire.ApiRequest`, asks the authorizer for a header on every
attempt, retries what the :class:`RetryPolicy` allows (never sleeping past the caller's
deadline) and turns every failure into a :class:`GlobusRunsError`.

Two ways out: a client on a :class:`ShardedPool` (its own, or a :func:`pooled_http_client`)
sends through :class:`_DirectRoute`, straight to the pool's own HTTP/1.1 connections
(``globus_runs._h1``); any other ``httpx.AsyncClient`` (passed in, the emulator's in-process
transport, a proxy from the environment) through ``httpx.AsyncClient.send``. On either way
out, the client's ``timeout`` bounds each attempt as a whole and ``max_response_size`` each
answer's body, as received and decoded (``globus_runs._body``).
"""

from __future__ import annotations

import inspect
import logging
import urllib.request
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import anyio
import attrs
import httpx

from . import _json
from ._auth import Authorizer
from ._body import DEFAULT_MAX_RESPONSE_SIZE, BodyReader
from ._errors import (
    APIError,
    APITimeoutError,
    ConfigurationError,
    ConnectError,
    ConnectTimeoutError,
    GlobusRunsError,
    NetworkError,
    ResponseParseError,
)
from ._retry import RetryEvent, RetryPolicy, rate_limit_listener
from ._version import __version__
from ._wire import ApiRequest, error_from_response

if TYPE_CHECKING:
    from ._h1 import Answer, Origin

__all__ = [
    "AsyncBaseTransport",
    "AsyncClient",
    "Response",
    "ShardedPool",
    "Transport",
    "asgi_transport",
    "pooled_http_client",
]

AsyncClient = httpx.AsyncClient
AsyncBaseTransport = httpx.AsyncBaseTransport

P = TypeVar("P")

logger = logging.getLogger("globus_runs")

USER_AGENT = f"globus-runs/{__version__} httpx/{httpx.__version__}"
_DEFAULT_POOL = 100
_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
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


class _Shards(Generic[P]):
    """Small pools of ``size`` connections each, opened as needed, and their requests in flight.

    :meth:`pick` gives the first pool with a free connection (so light traffic keeps reusing
    the same few connections) and opens a new one only when all are busy. The counts only
    steer that choice: a count left high by a response never closed makes that pool look
    busy, it blocks nothing.
    """

    def __init__(self, factory: Callable[[], P], *, size: int, most: int) -> None:
        self._factory = factory
        self._size = size
        self._most = most
        self.pools: list[P] = []
        self.busy: list[int] = []

    def pick(self) -> int:
        size = self._size
        for index, busy in enumerate(self.busy):
            if busy < size:
                return index
        if len(self.pools) < self._most:
            self.pools.append(self._factory())
            self.busy.append(0)
            return len(self.pools) - 1
        # More requests than connections: queue in the least busy pool, as one pool would.
        return self.busy.index(min(self.busy))


class ShardedPool(httpx.AsyncBaseTransport):
    """The connection pool of a client that makes its own (or of :func:`pooled_http_client`).

    httpx's pool (httpcore's) walks all of its connections, some twice over, every time a request
    starts or ends, so its CPU cost per request grows with the number of connections: past a
    few dozen it costs more than everything else a request does, and a batch at concurrency
    64 crawls. So this pool is made of parts that stay cheap at any concurrency:

    - :meth:`send_direct`, the path a :class:`Transport` takes when it can (its own pool, no
      proxy): one :class:`~globus_runs._h1.H1Pool` of ``max_connections``;
    - :meth:`handle_async_request`, for requests that come through ``httpx.AsyncClient``:
      small httpx pools of ``shard_size`` connections ("shards"), opened as needed.

    Each part is created on first use, so building a client costs no pool and no import.
    """

    def __init__(self, max_connections: int, *, shard_size: int = _SHARD_SIZE) -> None:
        self.max_connections = max_connections
        most = -(-max_connections // shard_size)
        self._limits = httpx.Limits(
            max_connections=shard_size, max_keepalive_connections=shard_size
        )
        # One TLS context for every part: building one loads the CA bundle.
        self._ssl_context = httpx.create_ssl_context(verify=True, trust_env=True)
        self._shards = _Shards(self._new_shard, size=shard_size, most=most)
        self._h1: Any = None  # an H1Pool, bound to the event loop (or trio run) it was made in

    def _new_shard(self) -> httpx.AsyncHTTPTransport:
        return httpx.AsyncHTTPTransport(verify=self._ssl_context, limits=self._limits)

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
        :meth:`~globus_runs._h1.H1Pool.request`. Raises the ``httpcore`` exceptions (the
        caller maps them with :func:`_network_error`) and :class:`ResponseParseError`.
        """
        h1 = self._h1
        if h1 is None or not h1.is_current():
            from ._h1 import H1Pool

            if h1 is not None:
                h1.abandon()  # connections of an event loop (or trio run) that has ended
            h1 = self._h1 = H1Pool(self.max_connections, self._ssl_context)
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
        shards = self._shards
        index = shards.pick()
        busy = shards.busy
        busy[index] += 1

        def release() -> None:
            busy[index] -= 1

        try:
            response = await shards.pools[index].handle_async_request(request)
        except BaseException:
            release()
            raise
        if isinstance(response.stream, httpx.AsyncByteStream):
            response.stream = _Releasing(response.stream, release)
        else:  # pragma: no cover - httpx's async transport always answers with an async stream
            release()
        return response

    async def aclose(self) -> None:
        if self._h1 is not None:
            if self._h1.is_current():
                await self._h1.aclose()
            else:
                self._h1.abandon()
        for shard in self._shards.pools:
            await shard.aclose()


def _environment_proxy(url: str | None) -> bool:
    """Whether a proxy set in the environment applies to ``url`` (to any URL when None).

    ``HTTPS_PROXY``, ``HTTP_PROXY`` and ``ALL_PROXY`` (any case), less the hosts of
    ``NO_PROXY``: the variables httpx reads for a client without a transport of its own.
    """
    proxies = urllib.request.getproxies_environment()
    if url is None:
        return any(proxies.get(scheme) for scheme in ("http", "https", "all"))
    parts = urlsplit(url)
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")


def pooled_http_client(
    max_connections: int = _DEFAULT_POOL,
    *,
    timeout: float | None = 60.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` to share between clients, on this library's connection pool.

    Pass it as ``http_client=`` to any number of ``FlowsClient`` / ``TimersClient`` objects (a
    FastAPI app opens one for its whole life): their requests then take the same lean path as
    those of a client with a pool of its own, and batches are bounded by ``max_connections``.
    A plain ``httpx.AsyncClient`` works as well, through httpx's own pool. As with any client
    passed in, closing it is the caller's business (``async with``).

    ``transport`` replaces the pool, e.g. with ``FakeGlobus.transport()`` in tests. When a
    proxy is set in the environment (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``), the client
    is a plain ``httpx.AsyncClient`` of ``max_connections``, which routes through it.

    Example::

        async with pooled_http_client(200) as http_client:
            flows = FlowsClient(authorizer=token, http_client=http_client)
            run = await flows.get_run(run_id)
    """
    if (
        not isinstance(max_connections, int)
        or isinstance(max_connections, bool)
        or max_connections < 1
    ):
        raise ConfigurationError("max_connections must be a positive int")
    if transport is None and not _environment_proxy(None):
        transport = ShardedPool(max_connections)
    return httpx.AsyncClient(
        transport=transport,
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
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> None:
        if (
            not isinstance(max_response_size, int)
            or isinstance(max_response_size, bool)
            or max_response_size < 1
        ):
            raise ConfigurationError("max_response_size must be a positive int")
        self.base_url = base_url
        self.authorizer = authorizer
        self.retry = retry
        self._timeout = httpx.Timeout(timeout)
        #: Bounds each attempt as a whole (connecting, sending and reading).
        self._attempt_timeout = timeout
        self.max_response_size = max_response_size
        self._owns_client = http_client is None
        # Only the codings undone with a bound on the decoded size (BodyReader).
        base_headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate",
        }
        if http_client is None:
            pool = max(concurrency, _DEFAULT_POOL)
            if transport is None and not _environment_proxy(base_url):
                transport = ShardedPool(pool)
            # Without a transport (a proxy in the environment applies), httpx's own pool with
            # the proxy routes httpx builds from the environment.
            http_client = httpx.AsyncClient(
                transport=transport,
                limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
                timeout=self._timeout,
                follow_redirects=False,
                headers=base_headers,
            )
            self.pool_size: int | None = pool if _pool_size(http_client) is not None else None
            # Our own client already carries the headers and the timeout: httpx merges
            # per-request headers one by one, at a cost that shows on every request.
            self._request_headers: dict[str, str] = {}
            self._request_timeout: httpx.Timeout | None = None
        else:
            self.pool_size = _pool_size(http_client)
            self._request_headers = base_headers
            self._request_timeout = self._timeout
        self.http_client = http_client
        self._direct = _DirectRoute.of(
            http_client, base_url, self._timeout, timeout, max_response_size
        )

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
                    # The batch pauses as long as asked, but never longer than the policy lets
                    # one request wait: past that, its other items meet the 429 and fail fast.
                    pause = error.retry_after if error.retry_after is not None else delay or 1.0
                    listener(min(pause, policy.retry_after_max))
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
            # The attempt as a whole, and the body as received and decoded, are bounded here:
            # httpx bounds neither.
            with anyio.fail_after(self._attempt_timeout):
                answer = await self.http_client.send(built, follow_redirects=False, stream=True)
                try:
                    content = await _read_bounded(answer, self.max_response_size)
                finally:
                    await answer.aclose()
            return answer.status_code, answer.headers.raw, content
        except ResponseParseError as exc:  # too large, or not decodable
            exc.method, exc.url = request.method, url
            raise
        except TimeoutError as exc:
            raise APITimeoutError(
                f"timed out: the attempt took longer than {self._attempt_timeout} s",
                method=request.method,
                url=url,
            ) from exc
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


async def _abandon(answer: httpx.Response, pieces: AsyncIterator[bytes]) -> None:
    """Stop reading ``answer`` part-way: close it (its connection with it), then run
    ``pieces`` to its end, which now comes at once, so the async generators layered under
    httpx's stream finish here rather than wait for the collector (which trio warns about).
    """
    await answer.aclose()
    try:
        async for _ in pieces:
            pass
    except httpx.HTTPError:
        pass  # the closed stream's own way to end


async def _read_bounded(answer: httpx.Response, limit: int) -> bytes:
    """The body of a streamed ``answer``, decoded, within ``limit`` bytes (:class:`BodyReader`)."""
    if answer.is_stream_consumed:
        # Read already by its transport (a mock transport's answer): decoded, in memory.
        reader = BodyReader([], limit)
        reader.feed(answer.content)
        return reader.finish()
    reader = BodyReader(
        [
            coding.strip().lower().encode("latin-1")
            for value in answer.headers.get_list("content-encoding")
            for coding in value.split(",")
        ],
        limit,
    )
    pieces = answer.aiter_raw()
    try:
        async for piece in pieces:
            reader.feed(piece)
    except ResponseParseError:
        await _abandon(answer, pieces)
        raise
    return reader.finish()


def _header_map(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """The headers of an answer by lower-cased name (the last of repeated ones)."""
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in headers}


class _DirectRoute:
    """Sends requests straight to the :class:`ShardedPool` of a client we created.

    ``httpx.AsyncClient.send`` parses the URL again, merges headers and cookies, runs the auth and
    redirect machinery and wraps the body in decoders on every request, none of which this
    library uses (it sends its own headers, follows no redirects, keeps no cookies): for a batch
    that is more CPU than the connection pool itself. This route builds the request from parts
    prepared once, sends it on the pool's own connections and maps their errors (httpcore's
    exception classes) as the client maps httpx's.
    """

    def __init__(
        self,
        pool: ShardedPool,
        base_url: str,
        timeout: httpx.Timeout,
        headers: list[tuple[bytes, bytes]],
        attempt: float | None = None,
        limit: int = DEFAULT_MAX_RESPONSE_SIZE,
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
        self._attempt = attempt
        self._limit = limit

    @classmethod
    def of(
        cls,
        client: httpx.AsyncClient,
        base_url: str,
        timeout: httpx.Timeout,
        attempt: float | None = None,
        limit: int = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> _DirectRoute | None:
        """The route for ``client`` when it is on a :class:`ShardedPool`, else None.

        None also when httpx would send ``base_url`` elsewhere (a proxy configured in the
        environment), when the client has hooks or auth of its own, or for a URL that is not
        plain ASCII: those requests go through ``httpx.AsyncClient``.
        """
        pool = getattr(client, "_transport", None)
        route = getattr(client, "_transport_for_url", None)
        if not isinstance(pool, ShardedPool) or route is None:
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
        return cls(pool, base_url, timeout, headers, attempt, limit)

    async def send(self, request: ApiRequest, url: str, authorization: str | None) -> Answer:
        """Send once; return the answer with its body decoded, or raise a :class:`NetworkError`."""
        headers = self._headers.copy()
        if authorization is not None:
            headers.append((b"Authorization", authorization.encode("utf-8")))
        body = request.body
        if body is not None:
            headers.append((b"Content-Type", request.content_type.encode("utf-8")))
            headers.append((b"Content-Length", str(len(body)).encode("ascii")))
        elif request.method in _METHODS_WITH_BODY:
            headers.append((b"Content-Length", b"0"))  # as httpx does; some proxies want it
        for name, value in request.headers:
            headers.append((name.encode("utf-8"), value.encode("utf-8")))
        target = self._prefix + url[self._base_length :].encode("ascii")
        try:
            answer: Answer = await self._pool.send_direct(
                self._origin,
                request.method.encode("ascii"),
                target,
                headers,
                body,
                self._timeouts,
                limit=self._limit,
                attempt=self._attempt,
                idempotent=request.idempotent,
            )
        except ResponseParseError as exc:  # too large, or not decodable
            exc.method, exc.url = request.method, url
            raise
        except Exception as exc:
            raise _network_error(exc, request.method, url) from exc
        return answer


def _network_error(exc: Exception, method: str, url: str) -> Exception:
    """The :class:`NetworkError` for an ``httpcore`` exception; any other ``exc`` as it is."""
    import httpcore

    if isinstance(exc, httpcore.ConnectTimeout | httpcore.PoolTimeout):
        return ConnectTimeoutError(
            f"timed out connecting: {type(exc).__name__}", method=method, url=url
        )
    if isinstance(exc, httpcore.ConnectError):
        return ConnectError(f"could not connect: {exc}", method=method, url=url)
    if isinstance(exc, httpcore.TimeoutException):
        return APITimeoutError(
            f"timed out waiting for the answer: {type(exc).__name__}", method=method, url=url
        )
    if isinstance(
        exc,
        httpcore.NetworkError
        | httpcore.ProtocolError
        | httpcore.ProxyError
        | httpcore.UnsupportedProtocol,
    ):
        return NetworkError(
            f"connection failed: {type(exc).__name__}: {exc}", method=method, url=url
        )
    return exc
