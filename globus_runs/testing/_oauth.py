"""The emulated Globus Auth token endpoint: registered clients, refresh tokens and grants.

Pure logic: `AuthState.token` takes the parsed form and the ``Authorization`` header of
a token request and returns the answer document or raises `OAuthError`; the web layer
(`_auth_api`) only reads the request and writes the answer. Access tokens it grants go
into the fake's `TokenRegistry`, one per resource server, expiring on the fake's clock.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import attrs

from ._auth import FLOWS_RESOURCE_SERVER, TokenRegistry

AUTH_RESOURCE_SERVER = "auth.globus.org"
# Where the token endpoint is, under the Auth service's prefix.
TOKEN_PATH = "/v2/oauth2/token"
# Access tokens of Globus Auth live two days.
DEFAULT_TOKEN_LIFETIME = 172_800

_FLOWS_SCOPE_SERVICE_ID = "eec9b274-0c81-4334-bdc2-54e90e689b9a"
_SCOPE_URL = "https://auth.globus.org/scopes/"
_SCOPE_URN = "urn:globus:auth:scope:"
_OPENID_SCOPES = frozenset({"openid", "profile", "email"})
_FORM = "application/x-www-form-urlencoded"


class OAuthError(Exception):
    """An OAuth 2 error answer: ``{"error": error, "error_description": description}``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    @property
    def body(self) -> dict[str, str]:
        """The JSON answer."""
        return {"error": self.error, "error_description": self.description}

    @property
    def headers(self) -> dict[str, str]:
        """Extra headers: a 401 names the authentication scheme it wants."""
        if self.status == 401:
            return {"WWW-Authenticate": 'Basic realm="Globus Auth"'}
        return {}


def _invalid_client() -> OAuthError:
    return OAuthError(401, "invalid_client", "Client authentication failed")


def _invalid_request(description: str) -> OAuthError:
    return OAuthError(400, "invalid_request", description)


def _base_resource_server(scope: str) -> str:
    """The resource server of a scope without dependent scopes."""
    if scope in _OPENID_SCOPES:
        return AUTH_RESOURCE_SERVER
    if scope.startswith(_SCOPE_URL):
        owner, slash, name = scope.removeprefix(_SCOPE_URL).partition("/")
        if owner and slash and name and "/" not in name:
            return FLOWS_RESOURCE_SERVER if owner == _FLOWS_SCOPE_SERVICE_ID else owner
    elif scope.startswith(_SCOPE_URN):
        server, colon, name = scope.removeprefix(_SCOPE_URN).rpartition(":")
        if server and colon and name:
            return server
    raise OAuthError(400, "invalid_scope", f"Unknown scope: {scope}")


def _malformed(text: str) -> OAuthError:
    return OAuthError(400, "invalid_scope", f"Malformed scope string: {text}")


def split_scope_string(text: str) -> list[str]:
    """The top-level scopes of a space-separated scope string, each with its dependent
    scopes in brackets (``timer[flow_scope]``) kept whole.

    Raises `OAuthError` ``invalid_scope`` for unbalanced or empty brackets, or a bracket
    that does not follow a scope name.
    """
    items: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "[":
            if not current or current[-1] in "[] \t\n":
                raise _malformed(text)
            depth += 1
        elif char == "]":
            if depth == 0 or current[-1] == "[":
                raise _malformed(text)
            depth -= 1
        elif char.isspace() and depth == 0:
            if current:
                items.append("".join(current))
                current = []
            continue
        elif depth == 0 and current and current[-1] == "]":
            raise _malformed(text)  # text after the closing bracket: ``a[b]c``
        current.append(char)
    if depth != 0:
        raise _malformed(text)
    if current:
        items.append("".join(current))
    return items


def outer_scope(scope: str) -> str:
    """``scope`` without its dependent scopes: ``timer[flow_scope]`` -> ``timer``."""
    return scope.partition("[")[0]


def resource_server_of(scope: str) -> str:
    """The resource server a scope belongs to; `OAuthError` ``invalid_scope`` if unknown.

    ``https://auth.globus.org/scopes/{id}/{name}`` belongs to ``id`` (Flows' own scopes to
    ``flows.globus.org``, a flow's scope to the flow id), ``urn:globus:auth:scope:{rs}:{name}``
    to ``rs``, and the OpenID scopes to ``auth.globus.org``. A scope with dependent scopes
    (``outer[dependent ...]``) belongs to its outer scope's resource server; every dependent
    scope must be well formed and known too.
    """
    items = split_scope_string(scope)
    if len(items) != 1:
        raise OAuthError(400, "invalid_scope", f"Unknown scope: {scope}")
    outer, bracket, rest = items[0].partition("[")
    server = _base_resource_server(outer)
    if bracket:
        for dependent in split_scope_string(rest.removesuffix("]")):
            resource_server_of(dependent)
    return server


def parse_scopes(scopes: str | Iterable[str]) -> tuple[str, ...]:
    """Space-separated (or listed) scopes, each checked, duplicates dropped, order kept.

    A scope may carry dependent scopes in brackets; it is kept whole.
    """
    if isinstance(scopes, str):
        scopes = [scopes]
    names = [name for item in scopes for name in split_scope_string(item)]
    if not names:
        raise OAuthError(400, "invalid_scope", "No scope requested")
    for name in names:
        resource_server_of(name)
    return tuple(dict.fromkeys(names))


def parse_form(body: bytes, content_type: str | None) -> dict[str, str]:
    """The fields of a form-encoded token request; each may appear once."""
    if (content_type or "").split(";")[0].strip().lower() != _FORM:
        raise _invalid_request(f"Content-Type must be {_FORM}")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise _invalid_request("The request body is not UTF-8") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise _invalid_request(f"Parameter {name} given more than once")
        form[name] = value
    return form


@attrs.frozen
class RegisteredClient:
    """A client registered with the emulated Globus Auth; a native client has no secret."""

    client_id: str
    secret: str | None = attrs.field(repr=False)
    identity_id: str


@attrs.frozen
class RefreshGrant:
    """What a refresh token stands for; with ``rotate`` each use replaces it."""

    client_id: str
    identity_id: str
    scopes: tuple[str, ...]
    rotate: bool = False


class AuthState:
    """Registered clients and live refresh tokens; grants access tokens into ``tokens``."""

    def __init__(self, tokens: TokenRegistry) -> None:
        self.tokens = tokens
        self.clients: dict[str, RegisteredClient] = {}
        self.refresh_tokens: dict[str, RefreshGrant] = {}
        self._token_lifetime = DEFAULT_TOKEN_LIFETIME

    @property
    def token_lifetime(self) -> int:
        """Seconds an access token granted from now on stays valid (``expires_in``)."""
        return self._token_lifetime

    @token_lifetime.setter
    def token_lifetime(self, seconds: int) -> None:
        if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 1:
            raise ValueError("token_lifetime must be a positive number of seconds (an int)")
        self._token_lifetime = seconds

    # -- registration ------------------------------------------------------------------

    def add_client(
        self, client_id: str | None, secret: str | None, identity_id: str | None
    ) -> RegisteredClient:
        """Register a client (``secret=None``: a native one); its identity is its id by default."""
        client_id = client_id or str(uuid.uuid4())
        if client_id in self.clients:
            raise ValueError(f"client {client_id} is already registered")
        client = RegisteredClient(client_id, secret, identity_id or client_id)
        self.clients[client_id] = client
        return client

    def issue_refresh_token(
        self, client_id: str, scopes: str | Iterable[str], identity_id: str, *, rotate: bool
    ) -> str:
        """A refresh token of ``client_id`` for ``identity_id``, granting ``scopes``."""
        if client_id not in self.clients:
            raise ValueError(f"client {client_id} is not registered")
        try:
            granted = parse_scopes(scopes)
        except OAuthError as err:
            raise ValueError(err.description) from None
        return self._new_refresh_token(RefreshGrant(client_id, identity_id, granted, rotate))

    def _new_refresh_token(self, grant: RefreshGrant) -> str:
        token = secrets.token_urlsafe(32)
        self.refresh_tokens[token] = grant
        return token

    def revoke_refresh_token(self, token: str) -> None:
        """Reject ``token`` from now on (unknown tokens are ignored)."""
        self.refresh_tokens.pop(token, None)

    # -- the token endpoint ------------------------------------------------------------

    def token(
        self, form: Mapping[str, str], authorization: str | None, now: datetime
    ) -> dict[str, Any]:
        """Answer a token request: the grant document, or `OAuthError`."""
        grant_type = form.get("grant_type")
        if not grant_type:
            raise _invalid_request("Missing parameter: grant_type")
        client = self._authenticate(form, authorization)
        if grant_type == "client_credentials":
            if client.secret is None:
                raise OAuthError(
                    400, "unauthorized_client", "A native client cannot use client_credentials"
                )
            scopes = parse_scopes(form.get("scope", ""))
            return self._grant(client, client.identity_id, scopes, now, refresh_token=None)
        if grant_type == "refresh_token":
            token = form.get("refresh_token", "")
            grant = self.refresh_tokens.get(token)
            if grant is None or grant.client_id != client.client_id:
                raise OAuthError(400, "invalid_grant", "Invalid or revoked refresh token")
            if grant.rotate:
                del self.refresh_tokens[token]
                token = self._new_refresh_token(grant)
            return self._grant(client, grant.identity_id, grant.scopes, now, refresh_token=token)
        raise OAuthError(400, "unsupported_grant_type", f"Unsupported grant_type: {grant_type}")

    def _authenticate(self, form: Mapping[str, str], authorization: str | None) -> RegisteredClient:
        """The client making the request: HTTP Basic, or a ``client_id`` form field."""
        if authorization:
            scheme, _, credentials = authorization.partition(" ")
            if scheme.lower() != "basic":
                raise _invalid_client()
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise _invalid_client() from None
            client_id, colon, secret = decoded.partition(":")
            if not colon or form.get("client_id", client_id) != client_id:
                raise _invalid_client()
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        client = self.clients.get(client_id)
        if client is None:
            raise _invalid_client()
        expected = client.secret or ""
        if not secrets.compare_digest(secret.encode(), expected.encode()):
            raise _invalid_client()
        return client

    def _grant(
        self,
        client: RegisteredClient,
        identity_id: str,
        scopes: Iterable[str],
        now: datetime,
        *,
        refresh_token: str | None,
    ) -> dict[str, Any]:
        """One access token per resource server of ``scopes``; the first one on top."""
        by_server: dict[str, list[str]] = {}
        for scope in scopes:
            names = by_server.setdefault(resource_server_of(scope), [])
            # The answer names the scope granted, without the dependent scopes asked for.
            if outer_scope(scope) not in names:
                names.append(outer_scope(scope))
        lifetime = self._token_lifetime
        expires_at = now + timedelta(seconds=lifetime)
        documents: list[dict[str, Any]] = [
            {
                "access_token": self.tokens.issue(
                    identity_id, {server}, expires_at, client_id=client.client_id
                ),
                "expires_in": lifetime,
                "resource_server": server,
                "scope": " ".join(names),
                "token_type": "Bearer",
            }
            for server, names in by_server.items()
        ]
        first, *others = documents
        if refresh_token is not None:
            first["refresh_token"] = refresh_token
        first["other_tokens"] = others
        return first
