"""Where the command line finds its credentials and services: the environment.

``GLOBUS_RUNS_TOKEN`` is a bearer token used for every service. Otherwise
``GLOBUS_RUNS_CLIENT_ID`` and ``GLOBUS_RUNS_CLIENT_SECRET`` are a confidential client's
credentials, exchanged at Globus Auth for tokens of ``GLOBUS_RUNS_SCOPES`` (default: Flows'
``all`` scope and the Timers scope; a flow's own scope is requested when a run of it is
started). ``GLOBUS_RUNS_FLOWS_URL``, ``GLOBUS_RUNS_TIMERS_URL`` and ``GLOBUS_RUNS_AUTH_URL``
override the services' URLs, ``GLOBUS_RUNS_ENVIRONMENT`` picks a Globus environment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from typing import Any, TypeVar

import attrs

from .._auth import FLOWS_RESOURCE_SERVER, TIMERS_RESOURCE_SERVER, Authorizer
from .._batch import Stops
from .._errors import ConfigurationError
from .._http.clients import AsyncBaseTransport, AsyncClient, pooled_http_client
from .._oauth import ClientCredentialsAuthorizer
from .._retry import RetryPolicy
from .._wire import check_base_url
from ..flows import FlowsClient
from ..timers import TimersClient
from ._feedback import RetryReporter, reporting_retries

__all__ = [
    "DEFAULT_SCOPES",
    "ENVIRONMENTS",
    "Clients",
    "Settings",
    "flow_scope",
    "open_clients",
]

_SCOPES_URL = "https://auth.globus.org/scopes/"
FLOWS_ALL_SCOPE = f"{_SCOPES_URL}eec9b274-0c81-4334-bdc2-54e90e689b9a/all"
TIMERS_SCOPE = f"{_SCOPES_URL}{TIMERS_RESOURCE_SERVER}/timer"
DEFAULT_SCOPES = (FLOWS_ALL_SCOPE, TIMERS_SCOPE)

ENV_TOKEN = "GLOBUS_RUNS_TOKEN"
ENV_CLIENT_ID = "GLOBUS_RUNS_CLIENT_ID"
ENV_CLIENT_SECRET = "GLOBUS_RUNS_CLIENT_SECRET"
ENV_SCOPES = "GLOBUS_RUNS_SCOPES"
ENV_FLOWS_URL = "GLOBUS_RUNS_FLOWS_URL"
ENV_TIMERS_URL = "GLOBUS_RUNS_TIMERS_URL"
ENV_AUTH_URL = "GLOBUS_RUNS_AUTH_URL"
ENV_ENVIRONMENT = "GLOBUS_RUNS_ENVIRONMENT"
#: The Globus environments ``GLOBUS_RUNS_ENVIRONMENT`` may name.
ENVIRONMENTS = ("production", "sandbox", "preview", "test", "integration", "staging")
_NO_CREDENTIALS = f"no credentials: set {ENV_TOKEN}, or {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET}"


T = TypeVar("T")


def flow_scope(flow_id: str) -> str:
    """The scope of one flow, needed to start or resume its runs."""
    return f"{_SCOPES_URL}{flow_id}/flow_{flow_id.replace('-', '_')}_user"


@attrs.frozen
class Settings:
    """Credentials and service URLs, usually read from the environment (`from_env`).

    ``transport`` sends every request somewhere else than the network: the tests give the
    in-process emulator's.
    """

    token: str | None = attrs.field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = attrs.field(default=None, repr=False)
    scopes: tuple[str, ...] | None = None
    flows_url: str | None = None
    timers_url: str | None = None
    auth_url: str | None = None
    environment: str = "production"
    transport: AsyncBaseTransport | None = attrs.field(default=None, eq=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read the ``GLOBUS_RUNS_*`` variables (empty ones count as unset)."""

        def get(name: str) -> str | None:
            return environ.get(name, "").strip() or None

        scopes = get(ENV_SCOPES)
        return cls(
            token=get(ENV_TOKEN),
            client_id=get(ENV_CLIENT_ID),
            client_secret=get(ENV_CLIENT_SECRET),
            scopes=tuple(scopes.replace(",", " ").split()) if scopes else None,
            flows_url=get(ENV_FLOWS_URL),
            timers_url=get(ENV_TIMERS_URL),
            auth_url=get(ENV_AUTH_URL),
            environment=get(ENV_ENVIRONMENT) or "production",
        )

    def check(self) -> None:
        """Refuse a setting that cannot work, before any request: an unknown environment,
        a malformed URL, missing credentials. The message names the variable to fix."""
        if self.environment not in ENVIRONMENTS:
            raise ConfigurationError(
                f"{ENV_ENVIRONMENT}={self.environment!r} is invalid: not a Globus "
                f"environment (one of {', '.join(ENVIRONMENTS)})"
            )
        for variable, url in (
            (ENV_FLOWS_URL, self.flows_url),
            (ENV_TIMERS_URL, self.timers_url),
            (ENV_AUTH_URL, self.auth_url),
        ):
            if url is not None:
                with _naming(variable, url):
                    check_base_url(url)
        if self.token is not None:
            return
        if self.client_id is not None and self.client_secret is None:
            raise ConfigurationError(
                f"{ENV_CLIENT_SECRET} is not set: {ENV_CLIENT_ID} needs it (or set {ENV_TOKEN})"
            )
        if self.client_secret is not None and self.client_id is None:
            raise ConfigurationError(
                f"{ENV_CLIENT_ID} is not set: {ENV_CLIENT_SECRET} needs it (or set {ENV_TOKEN})"
            )
        if self.client_id is None:
            raise ConfigurationError(_NO_CREDENTIALS)

    def naming(self, url_variable: str, url: str | None) -> AbstractContextManager[None]:
        """Errors of a client built from ``url`` (or, without one, from the environment)
        name the variable to fix."""
        if url is not None:
            return _naming(url_variable, url)
        return _naming(ENV_ENVIRONMENT, self.environment)

    def authorizer(self, http_client: AsyncClient) -> str | Authorizer:
        """The token, or a client-credentials authorizer; raises when neither is set."""
        if self.token is not None:
            return self.token
        if self.client_id is None or self.client_secret is None:
            raise ConfigurationError(_NO_CREDENTIALS)
        with _naming(ENV_AUTH_URL if self.auth_url else None, self.auth_url):
            return ServiceAccount(
                self.client_id,
                self.client_secret,
                self.scopes or DEFAULT_SCOPES,
                auth_url=self.auth_url,
                http_client=http_client,
            )


class ServiceAccount:
    """Client-credentials tokens for Flows and Timers, and for each flow when first needed.

    Starting or resuming a run needs a token for the flow's own scope, which the command
    line cannot know in advance: it is requested on its own the first time a flow's
    resource server is asked for, unless the configured scopes already cover it.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        scopes: tuple[str, ...],
        *,
        auth_url: str | None,
        http_client: AsyncClient,
    ) -> None:
        self._credentials = (client_id, client_secret)
        self._auth_url = auth_url
        self._http_client = http_client
        self._main = self._grant(scopes)
        # A scope URL names the client that owns it; for a flow's scope, the flow id.
        owners = {scope.removeprefix(_SCOPES_URL).split("/")[0] for scope in scopes}
        self._covered = owners | {FLOWS_RESOURCE_SERVER, TIMERS_RESOURCE_SERVER}
        self._flows: dict[str, ClientCredentialsAuthorizer] = {}

    def _grant(self, scopes: tuple[str, ...]) -> ClientCredentialsAuthorizer:
        client_id, client_secret = self._credentials
        return ClientCredentialsAuthorizer(
            client_id,
            client_secret,
            scopes,
            auth_url=self._auth_url,
            http_client=self._http_client,
        )

    def _for(self, resource_server: str) -> ClientCredentialsAuthorizer:
        if resource_server in self._covered:
            return self._main
        authorizer = self._flows.get(resource_server)
        if authorizer is None:
            authorizer = self._flows[resource_server] = self._grant((flow_scope(resource_server),))
        return authorizer

    async def get_authorization_header(self, resource_server: str) -> str | None:
        return await self._for(resource_server).get_authorization_header(resource_server)

    async def handle_unauthorized(self, resource_server: str, rejected_header: str | None) -> bool:
        return await self._for(resource_server).handle_unauthorized(
            resource_server, rejected_header
        )

    def __repr__(self) -> str:
        return f"ServiceAccount(client_id={self._credentials[0]!r})"


@attrs.frozen
class Clients:
    """The clients a command uses, sharing one connection pool."""

    flows: FlowsClient
    timers: TimersClient
    #: What tells the retries of both on stderr (``None`` when the caller's policy does).
    retries: RetryReporter | None = None

    def stop_retrying_once_unreachable(self, stops: Stops[Any]) -> None:
        """Once ``stops`` learned the service is unreachable, the connection failures of the
        items still in flight are not retried (see `RetryReporter`)."""
        if self.retries is not None:
            self.retries.unreachable = lambda: stops.unreachable

    async def abandonable(self, operation: Callable[[], Awaitable[T]]) -> T:
        """One item of a batch, ended early when the service proves unreachable."""
        if self.retries is None:
            return await operation()
        return await self.retries.abandonable(operation)

    def abandon_pauses(self) -> None:
        """End the items pausing after a connection failure, if the service is unreachable."""
        if self.retries is not None:
            self.retries.abandon_pauses()


@asynccontextmanager
async def open_clients(
    settings: Settings, *, concurrency: int = 10, retry: RetryPolicy | None = None
) -> AsyncIterator[Clients]:
    """Clients for ``settings``, over one pool sized for ``concurrency``; closed on exit.

    Each retry of a request is told on stderr (see `reporting_retries`).
    """
    retry = reporting_retries(retry)
    pool = max(concurrency, 10)
    async with pooled_http_client(pool, transport=settings.transport) as http_client:
        authorizer = settings.authorizer(http_client)
        with settings.naming(ENV_FLOWS_URL, settings.flows_url):
            flows = FlowsClient(
                authorizer=authorizer,
                base_url=settings.flows_url,
                environment=settings.environment,
                http_client=http_client,
                retry=retry,
                concurrency=concurrency,
            )
        with settings.naming(ENV_TIMERS_URL, settings.timers_url):
            # A Timers URL without a Flows URL: `timers run` must not start the timer's flow
            # on production Flows; the Timers client derives Flows' URL where that is certain.
            own_flows = settings.timers_url is not None and settings.flows_url is None
            timers = TimersClient(
                authorizer=authorizer,
                base_url=settings.timers_url,
                environment=settings.environment,
                http_client=http_client,
                retry=retry,
                flows=None if own_flows else flows,
            )
        reporter = retry.on_retry if isinstance(retry.on_retry, RetryReporter) else None
        yield Clients(flows, timers, reporter)


@contextmanager
def _naming(variable: str | None, value: str | None) -> Iterator[None]:
    """Turn a configuration error raised inside into one naming ``variable`` (the setting
    it came from), so the user knows which to fix."""
    try:
        yield
    except (ConfigurationError, ValueError) as error:
        if variable is None:
            raise
        text = " ".join(str(error).split())
        raise ConfigurationError(f"{variable}={value!r} is invalid: {text}") from None
