"""The transport core shared by every service client; the only module that imports httpx.

It sends an :class:`~globus_runs._wire.ApiRequest`, asks the authorizer for a header on every
attempt, retries what the :class:`RetryPolicy` allows (never sleeping past the caller's
deadline) and turns every failure into a :class:`GlobusRunsError`.
"""

from __future__ import annotations

import inspect
import logging
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

__all__ = ["AsyncBaseTransport", "AsyncClient", "Response", "Transport", "asgi_transport"]

AsyncClient = httpx.AsyncClient
AsyncBaseTransport = httpx.AsyncBaseTransport

logger = logging.getLogger("globus_runs")

USER_AGENT = f"globus-runs/{__version__} httpx/{httpx.__version__}"
_DEFAULT_POOL = 100


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


def _pool_size(client: httpx.AsyncClient) -> int | None:
    """The connection limit of a client's default transport, when it can be read."""
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
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
        if http_client is None:
            pool = max(concurrency, _DEFAULT_POOL)
            http_client = httpx.AsyncClient(
                transport=transport,
                limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
                timeout=self._timeout,
                follow_redirects=False,
            )
            self.pool_size: int | None = None if transport is not None else pool
        else:
            self.pool_size = _pool_size(http_client)
        self.http_client = http_client
        self._base_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}

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
        headers = dict(self._base_headers)
        if authorization is not None:
            headers["Authorization"] = authorization
        if request.body is not None:
            headers["Content-Type"] = request.content_type
        if request.headers:
            headers.update(request.headers)
        try:
            built = self.http_client.build_request(
                request.method, url, content=request.body, headers=headers, timeout=self._timeout
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
