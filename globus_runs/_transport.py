"""The transport core shared by every service client; the only module that imports httpx.

It sends an :class:`~globus_runs._wire.ApiRequest`, asks the authorizer for a header on every
attempt, retries what the :class:`RetryPolicy` allows (never sleeping past the caller's
deadline) and turns every failure into a :class:`GlobusRunsError`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import quote, urlencode

import anyio
import attrs
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
        self._busy: list[int] = []

    def _pick(self) -> int:
        size = self._shard_size
        for index, busy in enumerate(self._busy):
            if busy < size:
                return index
        if len(self._shards) < self._max_shards:
            self._shards.append(
                httpx.AsyncHTTPTransport(verify=self._ssl_context, limits=self._limits)
            )
            self._busy.append(0)
            return len(self._shards) - 1
        # More requests than connections: queue in the least busy shard, as one pool would.
        return self._busy.index(min(self._busy))

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
                answer = await self._send_once(request, url, header)
            except NetworkError as exc:
                error: GlobusRunsError = exc
            else:
                if 200 <= answer.status_code < 300:
                    return Response(answer.status_code, answer.content, request.method, url)
                error = error_from_response(
                    answer.status_code,
                    answer.content.decode("utf-8", "replace"),
                    headers=answer.headers,
                    method=request.method,
                    url=url,
                    not_found=request.not_found,
                )
                if answer.status_code == 401 and self.authorizer is not None and not renewed:
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

    async def _send_once(
        self, request: ApiRequest, url: str, authorization: str | None
    ) -> httpx.Response:
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
            return await self.http_client.send(built, follow_redirects=False)
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
