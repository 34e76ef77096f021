"""Authorizers that get and renew tokens from Globus Auth's token endpoint.

One renewal is in flight at a time however many requests wait on it: requests that find
the token missing or about to expire, or that were answered 401, join the renewal in flight
(or start one) and share its outcome, a failure included: while Globus Auth fails, each
renewal costs one renewal's retries, however many requests wait on it.

An authorizer given no ``http_client`` opens a connection pool of its own at its first
renewal and closes it in :meth:`~_RenewingAuthorizer.aclose`: called by ``async with``, and
by every service client the authorizer was given to when that client closes. It stays
usable after that (the next renewal opens a new pool), so one authorizer may serve clients
of different lifetimes. A given ``http_client`` is never closed.
"""

from __future__ import annotations

import base64
import inspect
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode

import anyio
import attrs

from . import _json
from ._errors import (
    APIError,
    APITimeoutError,
    ConfigurationError,
    InvalidRequestError,
    ResponseParseError,
)
from ._http.attempts import ServiceCaller
from ._http.clients import AsyncClient
from ._retry import RetryPolicy
from ._wire import ApiRequest, check_base_url

__all__ = [
    "ClientCredentialsAuthorizer",
    "RefreshTokenAuthorizer",
    "TokenResponse",
    "parse_token_response",
]

AUTH_URL = "https://auth.globus.org"
_TOKEN_PATH = "/v2/oauth2/token"
# Renew this long before the service's expiry, so no request carries a token that dies in flight
# (at most half the token's lifetime, so a short-lived token is not renewed on every request).
_RENEW_MARGIN = 60.0
# How long a renewal that must not be abandoned (see _shield_renewal) may keep going.
_SHIELDED_RENEWAL_LIMIT = 60.0


@attrs.frozen
class _Token:
    access_token: str = attrs.field(repr=False)
    resource_server: str
    expires_at: float
    renew_at: float
    scope: str = ""


class _Renewal:
    """One renewal in flight: every request that needs it waits for its outcome."""

    __slots__ = ("done", "error", "finished")

    def __init__(self) -> None:
        self.done = anyio.Event()
        #: Its failure, raised to every request that waited on it.
        self.error: Exception | None = None
        #: False when it was abandoned (its request cancelled): a waiter starts another.
        self.finished = False


@attrs.frozen
class TokenResponse:
    """What the token endpoint granted: one token per resource server, maybe a new refresh token.

    ``raw`` is the whole answer (it holds secrets: never log it).
    """

    tokens: dict[str, _Token]
    refresh_token: str | None = attrs.field(default=None, repr=False)
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


def _one_token(document: Any, now: float) -> _Token:
    if not isinstance(document, dict):
        raise ResponseParseError("unexpected token answer: not a JSON object")
    token = document.get("access_token")
    server = document.get("resource_server")
    expires_in = document.get("expires_in", 0)
    if not isinstance(token, str) or not token or not isinstance(server, str):
        raise ResponseParseError("unexpected token answer: no access_token or resource_server")
    if not isinstance(expires_in, int | float) or isinstance(expires_in, bool):
        raise ResponseParseError("unexpected token answer: expires_in is not a number")
    scope = document.get("scope")
    lifetime = float(expires_in) if abs(expires_in) < 1e300 else math.inf
    if not math.isfinite(lifetime):
        raise ResponseParseError("unexpected token answer: expires_in is not a finite number")
    return _Token(
        token,
        server,
        expires_at=now + lifetime,
        renew_at=now + lifetime - min(_RENEW_MARGIN, lifetime / 2),
        scope=scope if isinstance(scope, str) else "",
    )


def parse_token_response(document: Any, now: float) -> TokenResponse:
    """Read the token endpoint's answer, ``other_tokens`` included."""
    first = _one_token(document, now)
    tokens = {first.resource_server: first}
    others = document.get("other_tokens") or []
    if not isinstance(others, list):
        raise ResponseParseError("unexpected token answer: other_tokens is not a list")
    for other in others:
        token = _one_token(other, now)
        tokens[token.resource_server] = token
    refresh = document.get("refresh_token")
    return TokenResponse(
        tokens=tokens, refresh_token=refresh if isinstance(refresh, str) else None, raw=document
    )


def _oauth_error(error: APIError) -> APIError:
    """The same error with the code and text of an OAuth 2 error body, when it is one.

    Globus Auth answers ``{"error": "invalid_grant", "error_description": "..."}``.
    """
    try:
        document = _json.loads(error.body)
    except ValueError:
        return error
    code = document.get("error") if isinstance(document, dict) else None
    if not isinstance(code, str) or not code:
        return error
    description = document.get("error_description")
    message = description if isinstance(description, str) and description else code
    return type(error)(
        error.http_status,
        code,
        message,
        request_id=error.request_id,
        method=error.method,
        url=error.url,
        body=error.body,
        retry_after=error.retry_after,
    )


def _basic(client_id: str, client_secret: str) -> str:
    pair = f"{client_id}:{client_secret}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def _token_request(
    form: Mapping[str, str], authorization: str | None, secrets: tuple[str, ...]
) -> ApiRequest:
    """A form-encoded request to the token endpoint, with Basic client auth when given.

    ``secrets`` (a client secret, a refresh token) are redacted from any error built from
    the answer, however the server echoes them.
    """
    headers = (("Authorization", authorization),) if authorization is not None else ()
    try:
        body = urlencode(form).encode()
    except UnicodeEncodeError:
        names = ", ".join(sorted(form))
        raise InvalidRequestError(
            f"a token request cannot be sent: one of its fields ({names}) holds a character "
            "with no UTF-8 form (a lone surrogate)"
        ) from None
    return ApiRequest(
        "POST",
        _TOKEN_PATH,
        resource_server="auth.globus.org",
        body=body,
        content_type="application/x-www-form-urlencoded",
        headers=headers,
        secrets=secrets,
    )


def _sendable(value: str) -> bool:
    """Whether a credential can be sent as it is: no line break or other control character."""
    return value.isascii() and value.isprintable()


class _RenewingAuthorizer:
    """Holds tokens by resource server and renews them through the token endpoint."""

    #: Finish a renewal even when the request waiting on it is cancelled.
    _shield_renewal = False

    def __init__(
        self,
        *,
        auth_url: str | None,
        http_client: AsyncClient | None,
        clock: Callable[[], float] | None,
    ) -> None:
        self._tokens: dict[str, _Token] = {}
        self._flight: _Renewal | None = None  # the renewal in flight, if any
        self._clock = clock or time.time
        self._auth_url = check_base_url(auth_url or AUTH_URL)
        self._http_client = http_client
        self._http: ServiceCaller | None = None  # opened at the first renewal
        self._renewing = 0  # renewals in flight on self._http
        #: How many times tokens were fetched from the token endpoint.
        self.renewals = 0

    def _transport(self) -> ServiceCaller:
        if self._http is None:
            self._http = ServiceCaller(
                base_url=self._auth_url,
                authorizer=None,
                http_client=self._http_client,
                transport=None,
                timeout=30.0,
                retry=RetryPolicy(max_retries=3),
                concurrency=1,
            )
        return self._http

    def _refuse(self, what: str) -> InvalidRequestError:
        """The error for a credential that cannot be sent; names the authorizer, not the value."""
        return InvalidRequestError(
            f"{type(self).__name__}: the {what} holds a line break, a control character or a "
            "character outside ASCII"
        )

    def _token_request(self) -> ApiRequest:
        raise NotImplementedError

    async def _granted(self, response: TokenResponse) -> None:
        """Hook for subclasses: called after each successful grant."""

    def _fresh(self, resource_server: str) -> _Token | None:
        token = self._tokens.get(resource_server)
        if token is None or token.renew_at <= self._clock():
            return None
        return token

    async def _renew_shared(self) -> None:
        """Wait for the renewal in flight, or start one; its failure is raised to everyone
        who waited on it (single flight for failures too)."""
        while True:
            flight = self._flight
            if flight is None:
                break
            await flight.done.wait()
            if flight.error is not None:
                raise flight.error
            if flight.finished:
                return
            # Abandoned (the request running it was cancelled): start another.
        flight = self._flight = _Renewal()
        try:
            await self._renew()
            flight.finished = True
        except Exception as exc:
            flight.error, flight.finished = exc, True
            raise
        finally:
            self._flight = None
            flight.done.set()

    async def _renew(self) -> None:
        if not self._shield_renewal:
            await self._fetch_tokens()
            return
        limit = anyio.current_time() + _SHIELDED_RENEWAL_LIMIT
        with anyio.CancelScope(shield=True, deadline=limit) as scope:
            await self._fetch_tokens()
        if scope.cancelled_caught:
            raise APITimeoutError(
                f"renewing the token took more than {_SHIELDED_RENEWAL_LIMIT:.0f}s",
                method="POST",
                url=self._auth_url + _TOKEN_PATH,
            )

    async def _fetch_tokens(self) -> None:
        request = self._token_request()
        transport = self._transport()
        self._renewing += 1
        try:
            response = await transport.send(request)
        except APIError as error:
            raise _oauth_error(error) from None
        finally:
            self._renewing -= 1
            if self._http is not transport and not self._renewing:
                # aclose() came while this renewal was in flight: the pool closes now.
                await transport.aclose()
        try:
            document = response.json()
        except ResponseParseError:
            # Not the error from response.json(): its text, which may hold tokens, would show.
            raise ResponseParseError(
                "the token endpoint's answer is not valid JSON",
                method=response.method,
                url=response.url,
            ) from None
        granted = parse_token_response(document, self._clock())
        self.renewals += 1
        self._tokens = dict(granted.tokens)
        await self._granted(granted)

    async def get_authorization_header(self, resource_server: str) -> str | None:
        """The ``Bearer`` header for ``resource_server``, getting or renewing tokens first when
        they are missing or about to expire (one renewal at a time).

        Example::

            header = await authorizer.get_authorization_header("flows.globus.org")
        """
        token = self._fresh(resource_server)
        if token is None:
            await self._renew_shared()
            token = self._fresh(resource_server) or self._tokens.get(resource_server)
        if token is None:
            raise ConfigurationError(
                f"the token endpoint granted no token for resource server {resource_server!r}: "
                "request a scope of that resource server"
            )
        return f"Bearer {token.access_token}"

    async def handle_unauthorized(self, resource_server: str, rejected_header: str | None) -> bool:
        """Renew the tokens after a 401 (unless another request already did); ``True`` when
        there is now a token for ``resource_server``.

        Example::

            if await authorizer.handle_unauthorized("flows.globus.org", rejected_header):
                ...  # send the request again
        """
        current = self._tokens.get(resource_server)
        if current is not None and f"Bearer {current.access_token}" != rejected_header:
            return True  # another request already renewed it
        await self._renew_shared()
        return resource_server in self._tokens

    async def aclose(self) -> None:
        """Close the connection pool this authorizer opened (a given ``http_client`` stays
        open). The authorizer stays usable: a later renewal opens a new pool.

        Example::

            await authorizer.aclose()
        """
        http, self._http = self._http, None
        if http is not None and not self._renewing:
            await http.aclose()  # else the renewal in flight closes it when it ends

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class ClientCredentialsAuthorizer(_RenewingAuthorizer):
    """Tokens for a confidential client (a service account), renewed before they expire.

    ``scopes`` are requested together; Globus Auth answers with one token per resource server.
    Include each flow's scope to start its runs.

    Example::

        authorizer = ClientCredentialsAuthorizer(
            CLIENT_ID, CLIENT_SECRET,
            ["https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/all", flow_scope],
        )
        flows = FlowsClient(authorizer=authorizer)
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        scopes: str | Iterable[str],
        *,
        auth_url: str | None = None,
        http_client: AsyncClient | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not client_id or not client_secret:
            raise ConfigurationError("client_id and client_secret are required")
        super().__init__(auth_url=auth_url, http_client=http_client, clock=clock)
        self.client_id = client_id
        self._client_secret = client_secret
        self._authorization = _basic(client_id, client_secret)
        self.scopes = [scopes] if isinstance(scopes, str) else list(scopes)

    def _token_request(self) -> ApiRequest:
        if not (_sendable(self.client_id) and _sendable(self._client_secret)):
            raise self._refuse("client id or secret")
        form = {"grant_type": "client_credentials", "scope": " ".join(self.scopes)}
        return _token_request(form, self._authorization, (self._client_secret,))

    def __repr__(self) -> str:
        return f"ClientCredentialsAuthorizer(client_id={self.client_id!r}, scopes={self.scopes!r})"


OnRefresh = Callable[[TokenResponse], "Awaitable[None] | None"]


class RefreshTokenAuthorizer(_RenewingAuthorizer):
    """Tokens renewed with a refresh token, for long-running work on a user's behalf.

    When Globus Auth rotates the refresh token, the new one is kept and ``on_refresh`` is
    told (sync or async), so it can be stored for the next process.

    Example::

        async def save(response: TokenResponse) -> None:
            await store.put(response.refresh_token)

        authorizer = RefreshTokenAuthorizer(CLIENT_ID, refresh_token, on_refresh=save)
    """

    def __init__(
        self,
        client_id: str,
        refresh_token: str,
        *,
        client_secret: str | None = None,
        on_refresh: OnRefresh | None = None,
        auth_url: str | None = None,
        http_client: AsyncClient | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not client_id or not refresh_token:
            raise ConfigurationError("client_id and refresh_token are required")
        super().__init__(auth_url=auth_url, http_client=http_client, clock=clock)
        self.client_id = client_id
        self._refresh_token = refresh_token
        self._client_secret = client_secret or ""
        self._authorization = _basic(client_id, client_secret) if client_secret else None
        self._on_refresh = on_refresh

    def _token_request(self) -> ApiRequest:
        if not _sendable(self._refresh_token):
            raise self._refuse("refresh token")
        if not (_sendable(self.client_id) and _sendable(self._client_secret)):
            raise self._refuse("client id or secret")
        form = {"grant_type": "refresh_token", "refresh_token": self._refresh_token}
        if self._authorization is None:
            form["client_id"] = self.client_id  # a native client names itself in the form
        secrets = (self._refresh_token, self._client_secret)
        return _token_request(form, self._authorization, secrets)

    # A rotating refresh token is spent once the request reaches Globus Auth: abandoning the
    # answer would lose its only replacement.
    _shield_renewal = True

    async def _granted(self, response: TokenResponse) -> None:
        if response.refresh_token:
            self._refresh_token = response.refresh_token
        if self._on_refresh is not None:
            outcome = self._on_refresh(response)
            if inspect.isawaitable(outcome):
                await outcome

    def __repr__(self) -> str:
        return f"RefreshTokenAuthorizer(client_id={self.client_id!r})"
