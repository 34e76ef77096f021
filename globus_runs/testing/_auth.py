"""Bearer tokens the emulator accepts, and the resource servers they are for."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime

import attrs

from ._errors import ApiError
from ._wire import identity_urn

FLOWS_RESOURCE_SERVER = "flows.globus.org"
TIMERS_RESOURCE_SERVER = "524230d7-ea86-4a52-8312-86065a9e0417"
_FLOWS_SCOPE_BASE = "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a"
TIMERS_SCOPE = f"https://auth.globus.org/scopes/{TIMERS_RESOURCE_SERVER}/timer"


def flows_scope(name: str) -> str:
    """A scope of the Flows service itself, e.g. ``flows_scope("run_status")``."""
    return f"{_FLOWS_SCOPE_BASE}/{name}"


def flow_scope(flow_id: str) -> str:
    """The scope of one flow, needed to start or resume its runs."""
    return f"https://auth.globus.org/scopes/{flow_id}/flow_{flow_id.replace('-', '_')}_user"


@attrs.frozen
class TokenGrant:
    """Who a token belongs to and which resource servers accept it."""

    identity_id: str
    resource_servers: frozenset[str] | None  # None: every resource server
    expires_at: datetime | None = None
    client_id: str | None = None  # the client it was issued to by the token endpoint

    @property
    def urn(self) -> str:
        """The principal URN of the token's identity."""
        return identity_urn(self.identity_id)

    def allows(self, resource_server: str) -> bool:
        """Whether the token is valid for ``resource_server``."""
        return self.resource_servers is None or resource_server in self.resource_servers


def _unauthenticated() -> ApiError:
    return ApiError(401, "AUTHENTICATION_ERROR", "Expired or invalid Bearer token")


class TokenRegistry:
    """The tokens currently valid, each with its grant."""

    def __init__(self) -> None:
        self._grants: dict[str, TokenGrant] = {}

    def add(self, token: str, grant: TokenGrant) -> None:
        """Accept ``token`` from now on, for ``grant``."""
        self._grants[token] = grant

    def issue(
        self,
        identity_id: str,
        resource_servers: Iterable[str] | None,
        expires_at: datetime | None = None,
        *,
        client_id: str | None = None,
    ) -> str:
        """Make up a new token for ``identity_id`` and accept it."""
        token = secrets.token_urlsafe(24)
        servers = None if resource_servers is None else frozenset(resource_servers)
        self.add(token, TokenGrant(identity_id, servers, expires_at, client_id))
        return token

    def revoke(self, token: str) -> None:
        """Stop accepting ``token`` (unknown tokens are ignored)."""
        self._grants.pop(token, None)

    def revoke_client(self, client_id: str) -> int:
        """Stop accepting every token issued to ``client_id``; returns how many there were."""
        revoked = [t for t, grant in self._grants.items() if grant.client_id == client_id]
        for token in revoked:
            del self._grants[token]
        return len(revoked)

    def authenticate(self, authorization: str | None, now: datetime) -> TokenGrant:
        """The grant of an ``Authorization`` header's bearer token; 401 otherwise."""
        scheme, _, token = (authorization or "").partition(" ")
        grant = self._grants.get(token.strip())
        if scheme.lower() != "bearer" or grant is None:
            raise _unauthenticated()
        if grant.expires_at is not None and now >= grant.expires_at:
            raise _unauthenticated()
        return grant


def require_resource_server(grant: TokenGrant, resource_server: str, scope: str) -> None:
    """403 ``MISSING_SCOPE`` unless the token is valid for ``resource_server``."""
    if not grant.allows(resource_server):
        raise ApiError(
            403,
            "MISSING_SCOPE",
            f"This action requires the following scope: {scope}",
        )
