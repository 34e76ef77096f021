"""What every service client shares: URL selection, the transport, and closing."""

from __future__ import annotations

import re
import sys
from types import TracebackType
from typing import Self

from ._auth import Authorizer, as_authorizer
from ._body import DEFAULT_MAX_RESPONSE_SIZE
from ._errors import ConfigurationError
from ._http.attempts import ServiceCaller
from ._http.clients import AsyncBaseTransport, AsyncClient
from ._retry import RetryPolicy
from ._telemetry import RequestHook
from ._wire import check_base_url

__all__ = ["ServiceClient", "service_url"]

_ENVIRONMENT = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


def service_url(host: str, environment: str) -> str:
    """The production URL of ``host`` (``flows.automate.globus.org``) in ``environment``."""
    if not isinstance(environment, str) or not _ENVIRONMENT.match(environment):
        raise ConfigurationError(f"environment {environment!r} is not a Globus environment name")
    if environment == "production":
        return f"https://{host}"
    return f"https://{environment}.{host}"


class ServiceClient:
    """Base of the service clients: owns a :class:`ServiceCaller`, is an async context manager."""

    _host: str = ""

    def __init__(
        self,
        *,
        authorizer: str | Authorizer | None = None,
        base_url: str | None = None,
        environment: str = "production",
        http_client: AsyncClient | None = None,
        timeout: float | None = 60.0,
        retry: RetryPolicy | None = None,
        concurrency: int = 10,
        transport: AsyncBaseTransport | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> None:
        """``max_response_size`` bounds every answer's body in bytes, as received and as
        decoded (default 32 MiB: a page of 50 runs of 200 KB each is about 10 MB); a larger
        one raises :class:`~globus_runs.ResponseTooLargeError`. ``timeout`` bounds each
        attempt as a whole (connecting, sending and reading): past it,
        :class:`~globus_runs.APITimeoutError`.
        """
        if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
            raise ConfigurationError("concurrency must be a positive int")
        if http_client is not None and transport is not None:
            raise ConfigurationError("pass either http_client or transport, not both")
        url = check_base_url(base_url) if base_url is not None else None
        self.concurrency = concurrency
        self._transport = ServiceCaller(
            base_url=url or service_url(self._host, environment),
            authorizer=as_authorizer(authorizer),
            http_client=http_client,
            transport=transport,
            timeout=timeout,
            retry=retry if retry is not None else RetryPolicy(),
            concurrency=concurrency,
            max_response_size=max_response_size,
        )

    @property
    def base_url(self) -> str:
        """The service URL requests are sent to (no trailing slash)."""
        return self._transport.base_url

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of this client's requests."""
        return self._transport.retry

    @property
    def authorizer(self) -> Authorizer | None:
        """The authorizer giving this client's ``Authorization`` headers."""
        return self._transport.authorizer

    def add_request_hook(self, hook: RequestHook) -> None:
        """Call ``hook(event)`` after every HTTP attempt of this client (retries included).

        ``event`` is a :class:`RequestEvent` (method, URL with query secrets redacted,
        attempt, status code or error, duration); ``hook`` may be a coroutine function. An
        error raised by a hook is logged, never raised. Retries are also reported by
        ``RetryPolicy(on_retry=...)``.

        Example::

            flows.add_request_hook(lambda event: metrics.observe(event.duration))
        """
        if not callable(hook):
            raise ConfigurationError("a request hook must be callable")
        self._transport.observer.hooks.append(hook)

    async def aclose(self) -> None:
        """Close the connection pool if this client created it (a shared one stays open), and
        the pool a renewing authorizer given to this client opened for itself (it stays usable).

        Example::

            flows = FlowsClient(authorizer=token)
            try:
                ...
            finally:
                await flows.aclose()
        """
        try:
            await self._transport.aclose()
        finally:
            authorizer = self._transport.authorizer
            # Looked up, not imported: an authorizer of that module means it is loaded.
            oauth = sys.modules.get("globus_runs._oauth")
            if oauth is not None and isinstance(authorizer, oauth._RenewingAuthorizer):
                await authorizer.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"
