"""The attempt loop: one per service client, the one place every rule of a call lives.

:class:`ServiceCaller` authorizes each attempt (and renews the token once after a 401, the
renewal shared by every call waiting on it), prepares the request once
(:func:`~globus_runs._http.prepare.prepare`), hands it to the client's sender within the
client's :class:`~globus_runs._http.sender.Bounds`, reports each attempt (telemetry), turns a
non-2xx answer into the library's error with every secret redacted, and decides whether to try
again (:func:`~globus_runs._retry.retry_delay`: idempotence, the policy, ``Retry-After``, the
caller's deadline), telling a batch of a 429. A request that is not idempotent (a run start)
may bring a look-up hook (:data:`Recheck`): after an ambiguous failure it runs before any
resend, within the same retry budget and deadline, and what it finds is the call's answer.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar, overload

import anyio
import attrs
import httpx

from .. import _json
from .._auth import AccessTokenAuthorizer, Authorizer, TokenMapAuthorizer
from .._body import DEFAULT_MAX_RESPONSE_SIZE
from .._errors import (
    APIError,
    APITimeoutError,
    GlobusRunsError,
    InvalidRequestError,
    NetworkError,
    ResponseParseError,
)
from .._retry import RetryEvent, RetryPolicy, ambiguous, rate_limit_listener, retry_delay
from .._telemetry import RequestObserver
from .._wire import ApiRequest, error_from_response
from .clients import DEFAULT_POOL, make_client, pool_size, sender_for
from .prepare import check_authorization, prepare, url_for
from .redact import redact, secrets_of
from .sender import Answer, Bounds, Prepared, Sender

__all__ = ["Found", "Recheck", "Response", "ServiceCaller"]

_T = TypeVar("_T")

logger = logging.getLogger("globus_runs")


class Found(Generic[_T]):
    """What a look-up (:data:`Recheck`) found the request had made: the call's answer."""

    __slots__ = ("value",)

    def __init__(self, value: _T) -> None:
        self.value = value


#: Told of an ambiguous failure of a request that is not idempotent (a run start; an answer
#: that could not be read counts), before any resend: returns :class:`Found` when a look-up
#: found what the request made (the call returns it), True when it proved the request had no
#: effect (sending it again is safe), False when it must not be sent again, None when the
#: look-up failed (it is tried again as a retry). It may end the call by raising.
Recheck = Callable[[GlobusRunsError], Awaitable["bool | Found[Any] | None"]]


@attrs.frozen
class Response:
    """A 2xx answer, read in full."""

    status: int
    content: bytes
    method: str
    url: str
    # What was sent, to redact from the body when it has to be shown in an error.
    authorization: str | None = attrs.field(default=None, repr=False)
    request: ApiRequest | None = attrs.field(default=None, repr=False, eq=False)

    def text(self) -> str:
        """The body as text, with every secret the request carried redacted (for errors)."""
        text = self.content.decode("utf-8", "replace")
        if self.request is None:
            return text
        return redact(text, secrets_of(self.authorization, self.request))

    def redact(self, error: ResponseParseError) -> ResponseParseError:
        """``error`` (raised reading this answer) with the request's secrets redacted from its
        message and text; its cause is dropped when that quoted one."""
        if self.request is None:
            return error
        secrets = secrets_of(self.authorization, self.request)
        message, text = redact(error.message, secrets), redact(error.text, secrets)
        if (message, text) != (error.message, error.text):
            error.message, error.text = message, text
            error.args = (message,)
            error.__cause__ = None
            error.__suppress_context__ = True
        return error

    def json(self) -> Any:
        """Decode the body, raising :class:`ResponseParseError` when it is not JSON."""
        try:
            return _json.loads(self.content)
        except ValueError:
            raise ResponseParseError(
                "answer is not valid JSON", text=self.text(), method=self.method, url=self.url
            ) from None


class ServiceCaller:
    """The attempt loop of one service: authorizes, prepares, sends through the client's
    sender, retries as the policy allows and turns every failure into a
    :class:`GlobusRunsError`. (Not an httpx transport: it sends through those.)"""

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
        self.base_url = base_url
        self.authorizer = authorizer
        self.retry = retry
        #: What every attempt may take, carried to the sender.
        self.bounds = Bounds.of(timeout, max_response_size)
        self._owns_client = http_client is None
        if http_client is None:
            from .proxies import environment_proxy

            # Without a transport and under a proxy from the environment: httpx's own pool,
            # with the proxy routes httpx builds from the environment.
            http_client = make_client(
                max(concurrency, DEFAULT_POOL),
                timeout=httpx.Timeout(timeout),
                transport=transport,
                own_pool=transport is None and not environment_proxy(base_url),
            )
        self.pool_size = pool_size(http_client)
        self.http_client = http_client
        #: The one way out of this client's requests.
        self.sender: Sender = sender_for(http_client, base_url)
        #: Reports each attempt (spans, request hooks); see ``globus_runs._telemetry``.
        self.observer = RequestObserver()

    @property
    def max_response_size(self) -> int:
        """The most bytes an answer's body may hold (:attr:`bounds`)."""
        return self.bounds.max_response_size

    def shares_pool_with(self, other: ServiceCaller) -> bool:
        """True when both send through the same ``httpx.AsyncClient``."""
        return self.http_client is other.http_client

    async def aclose(self) -> None:
        """Close the pool if this caller created it; a shared client is left open."""
        if self._owns_client:
            await self.http_client.aclose()

    def url_for(self, request: ApiRequest) -> str:
        """The request's URL (:func:`~globus_runs._http.prepare.url_for`)."""
        return url_for(self.base_url, request)

    @overload
    async def send(self, request: ApiRequest, *, recheck: Recheck | None = None) -> Response: ...

    @overload
    async def send(
        self,
        request: ApiRequest,
        *,
        read: Callable[[Response], _T],
        recheck: Recheck | None = None,
    ) -> _T: ...

    async def send(
        self,
        request: ApiRequest,
        *,
        read: Callable[[Response], Any] | None = None,
        recheck: Recheck | None = None,
    ) -> Any:
        """Send ``request`` until a 2xx answer (that ``read``, when given, accepts: the call
        returns what it returns), as the policy allows; else raise.

        ``recheck`` is for a request that is not idempotent: after an ambiguous failure (a
        5xx, a lost connection, a timeout, an answer ``read`` refuses) it is awaited before
        anything else (see :data:`Recheck`); only when it proves the request had no effect is
        the request sent again, as an idempotent one would be.
        """
        url = url_for(self.base_url, request)
        if self.http_client.is_closed:  # on every way out; no retry can change it
            raise InvalidRequestError(
                f"{request.method} {url}: the HTTP client is closed (the service client was "
                "closed, or the http_client given to it)"
            )
        progress = _Progress(anyio.current_time())
        while True:
            header = await self._header_for(request, url)
            prepared = prepare(request, url, header)
            try:
                status, headers, content = await self._attempt(prepared, progress.retries)
            except NetworkError as exc:
                error: GlobusRunsError = exc
            else:
                if 200 <= status < 300:
                    response = Response(status, content, request.method, url, header, request)
                    if read is None:
                        return response
                    if recheck is None:
                        return read(response)
                    try:
                        return read(response)
                    except ResponseParseError as exc:  # the request had its effect
                        error = exc
                else:
                    error = _api_error(request, url, header, status, headers, content)
                    if status == 401 and await self._renewed(request, url, header, progress):
                        continue
            found = await self._after_failure(request, url, error, recheck, progress)
            if found is not None:
                return found.value

    async def _header_for(self, request: ApiRequest, url: str) -> str | None:
        """The ``Authorization`` header of one attempt, refused when it cannot be sent."""
        if self.authorizer is None:
            return None
        header = await self._authorize(
            request, url, self.authorizer.get_authorization_header(request.resource_server)
        )
        return check_authorization(header, self.authorizer)

    async def _attempt(self, prepared: Prepared, retry_number: int) -> Answer:
        """Send once, told to the observer when one listens."""
        sender = self.sender
        if self.observer.active():
            return await self.observer.send(sender.send, prepared, self.bounds, retry_number)
        return await sender.send(prepared, self.bounds)

    async def _renewed(
        self, request: ApiRequest, url: str, header: str | None, progress: _Progress
    ) -> bool:
        """After a 401: whether the authorizer renewed the token (once per call)."""
        if self.authorizer is None or progress.renewed:
            return False
        progress.renewed = True
        retry_with_new_token = await self._authorize(
            request, url, self.authorizer.handle_unauthorized(request.resource_server, header)
        )
        if retry_with_new_token:
            logger.debug("%s %s: token rejected, retrying once", request.method, url)
        return retry_with_new_token

    async def _after_failure(
        self,
        request: ApiRequest,
        url: str,
        error: GlobusRunsError,
        recheck: Recheck | None,
        progress: _Progress,
    ) -> Found[Any] | None:
        """Wait before the next attempt, or raise ``error`` when there is none; what the
        look-up found, when it found the request's effect.

        A request that is not idempotent is sent again after an ambiguous failure only once
        ``recheck`` proved it had no effect.
        """
        progress.retries += 1
        idempotent = request.idempotent
        if recheck is not None and not idempotent and _ambiguous(error):
            verdict = await self._look_up(request, url, error, recheck, progress)
            if isinstance(verdict, Found):
                return verdict
            idempotent = verdict
        delay = self._retry_delay(error, progress.retries, progress.started, idempotent=idempotent)
        _tell_rate_limit_listener(error, delay, self.retry)
        if delay is None:
            error.attempts = progress.sent
            raise error
        await self._pause(request, url, error, progress.retries, delay)
        return None

    async def _look_up(
        self,
        request: ApiRequest,
        url: str,
        error: GlobusRunsError,
        recheck: Recheck,
        progress: _Progress,
    ) -> bool | Found[Any]:
        """Ask ``recheck`` whether ``request`` had an effect, after ``error``.

        A look-up that fails (None) is tried again on this loop's schedule: each try is a
        retry, within ``max_retries`` and ``max_elapsed``, and never past the caller's
        deadline; when none is left, ``error`` is raised.
        """
        while True:
            verdict = await recheck(error)
            if verdict is not None:
                return verdict
            delay = self._retry_delay(error, progress.retries, progress.started, idempotent=None)
            if delay is None:
                error.attempts = progress.sent
                raise error
            await self._pause(request, url, error, progress.retries, delay)
            progress.retries += 1
            progress.look_ups += 1

    async def _authorize(self, request: ApiRequest, url: str, asking: Awaitable[_T]) -> _T:
        """Await the authorizer (for a header, or after a 401) within the client's timeout: a
        renewal that Globus Auth is slow to grant ends the call typed, like any attempt."""
        attempt = self.bounds.attempt
        if attempt is None or type(self.authorizer) in _NEVER_WAITING:
            return await asking  # a fixed token: no cancel scope on every request's path
        with anyio.CancelScope(deadline=anyio.current_time() + attempt):
            return await asking
        raise APITimeoutError(
            f"timed out: the authorizer gave no token within {self.bounds.attempt} s",
            method=request.method,
            url=url,
        )

    async def _pause(
        self, request: ApiRequest, url: str, error: GlobusRunsError, retry_number: int, delay: float
    ) -> None:
        """Log the coming retry, tell ``on_retry`` about it, and wait ``delay`` seconds."""
        policy = self.retry
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
            outcome = policy.on_retry(RetryEvent(request.method, url, retry_number, delay, error))
            if inspect.isawaitable(outcome):
                await outcome
        await anyio.sleep(delay)

    def _retry_delay(
        self, error: GlobusRunsError, retry_number: int, started: float, *, idempotent: bool | None
    ) -> float | None:
        """Seconds to wait before retrying, or None when ``error`` must be raised now
        (:func:`~globus_runs._retry.retry_delay`, told the time spent and the time left)."""
        now = anyio.current_time()
        return retry_delay(
            self.retry,
            error,
            retry_number,
            idempotent=idempotent,
            elapsed=now - started,
            time_left=anyio.current_effective_deadline() - now,
        )


def _ambiguous(error: GlobusRunsError) -> bool:
    """Whether the request may have had an effect: an ambiguous failure, or a 2xx answer that
    could not be read."""
    return isinstance(error, ResponseParseError) or ambiguous(error)


#: Authorizers whose methods return at once (fixed tokens): never bounded by a timeout.
_NEVER_WAITING = frozenset({AccessTokenAuthorizer, TokenMapAuthorizer})


@attrs.define
class _Progress:
    """Where one call's attempt loop stands."""

    started: float  # anyio.current_time() when the call began
    retries: int = 0
    look_ups: int = 0  # retries spent repeating a failed look-up of recheck, not the request
    renewed: bool = False  # the token was renewed after a 401 already

    @property
    def sent(self) -> int:
        """How many times the request itself was sent, before the attempt under way."""
        return self.retries - self.look_ups


def _api_error(
    request: ApiRequest,
    url: str,
    authorization: str | None,
    status: int,
    headers: list[tuple[bytes, bytes]],
    content: bytes,
) -> APIError:
    """The error for a non-2xx answer, with every secret the request carried redacted."""
    secrets = secrets_of(authorization, request)
    return error_from_response(
        status,
        redact(content.decode("utf-8", "replace"), secrets),
        headers={name: redact(value, secrets) for name, value in _header_map(headers).items()},
        method=request.method,
        url=url,
        not_found=request.not_found,
    )


def _tell_rate_limit_listener(
    error: GlobusRunsError, delay: float | None, policy: RetryPolicy
) -> None:
    """Tell the batch of a 429: it pauses as long as asked, but never longer than the policy
    lets one request wait (past that, its other items meet the 429 and fail fast)."""
    if not (isinstance(error, APIError) and error.http_status == 429):
        return
    listener = rate_limit_listener.get()
    if listener is not None:
        pause = error.retry_after if error.retry_after is not None else delay or 1.0
        listener(min(pause, policy.retry_after_max))


def _header_map(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """The headers of an answer by lower-cased name (the last of repeated ones)."""
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in headers}
