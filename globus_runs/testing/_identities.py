"""Identity look-ups of the emulated Globus Auth: ``GET /v2/api/identities`` and
``GET /v2/api/identities/{identity_id}/consents``.

Official clients resolve the identity URNs they display (a run's owner, say)
to usernames with the first call, and check what a user has consented to with
the second. An identity's consents are those `FakeGlobus.grant_consent` recorded
(none by default: a client using the client-credentials grant needs none), each a
root consent of its own (no dependent scopes).

The emulator knows every identity by its id: a registered client's identity is
named ``{client_id}@clients.auth.globus.org`` as in Globus Auth, any other
``{identity_id}@emulator.example.org``. Looking up by ``usernames`` finds
exactly these names. Errors have the Auth API's shape, ``{"errors": [{"status",
"id", "code", "detail", "title"}], "error", "error_description"}``.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from ._params import QueryParams
from ._wire import format_time

CLIENT_DOMAIN = "clients.auth.globus.org"
USER_DOMAIN = "emulator.example.org"
# A made-up identity provider id for the emulator's identities.
IDENTITY_PROVIDER = "5f5e2c6b-8d4e-4a8e-9f36-6b3c2a9d7e10"


class AuthApiError(Exception):
    """An error answer of the Auth API (not of its OAuth token endpoint)."""

    def __init__(self, status: int, code: str, detail: str, title: str) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title

    @property
    def body(self) -> dict[str, Any]:
        """The JSON answer."""
        error_id = str(uuid.uuid4())
        return {
            "errors": [
                {
                    "status": str(self.status),
                    "id": error_id,
                    "code": self.code,
                    "detail": self.detail,
                    "title": self.title,
                }
            ],
            "error": self.title.lower().replace(" ", "_"),
            "error_description": self.title,
        }


def unauthorized() -> AuthApiError:
    """A 401 for a call without a valid token."""
    return AuthApiError(401, "UNAUTHORIZED", "Call must be authenticated", "Unauthorized")


def forbidden() -> AuthApiError:
    """A 403 for a token that is not for Globus Auth."""
    return AuthApiError(403, "FORBIDDEN", "The token is not valid for auth.globus.org", "Forbidden")


def _bad_parameter(detail: str) -> AuthApiError:
    return AuthApiError(400, "INVALID_PARAMETERS", detail, "Invalid Parameters")


def get_consents(
    caller: str,
    identity_id: str,
    params: QueryParams,
    granted: Mapping[tuple[str, str], datetime],
    client_id: str | None,
) -> dict[str, Any]:
    """``GET /v2/api/identities/{identity_id}/consents``: ``caller`` (an identity id) may
    read only its own; ``all`` must be a boolean when given. ``granted`` maps (principal
    URN, scope) to when it was consented to; ``client_id`` is the caller's client."""
    params.boolean("all", False)
    if _canonical_id(identity_id) != _canonical_id(caller) or _canonical_id(caller) is None:
        raise AuthApiError(403, "FORBIDDEN", "You may only view your own consents", "Forbidden")
    urn = f"urn:globus:auth:identity:{caller}"
    mine = sorted((scope, when) for (principal, scope), when in granted.items() if principal == urn)
    return {"consents": [_consent(caller, scope, when, client_id) for scope, when in mine]}


def _consent(identity_id: str, scope: str, when: datetime, client_id: str | None) -> dict[str, Any]:
    """One root consent of ``identity_id`` to ``scope``, as Globus Auth lists it."""
    consent_id = zlib.crc32(f"{identity_id} {scope}".encode())
    moment = format_time(when)
    return {
        "id": consent_id,
        "status": "approved",
        "scope_name": scope,
        "scope": str(uuid.uuid5(uuid.NAMESPACE_URL, scope)),
        "client": client_id or str(uuid.uuid5(uuid.NAMESPACE_URL, "emulator client")),
        "effective_identity": identity_id,
        "dependency_path": [consent_id],
        "created": moment,
        "updated": moment,
        "last_used": moment,
        "allows_refresh": True,
        "auto_approved": False,
        "atomically_revocable": False,
    }


def identity_document(identity_id: str, clients: Collection[str]) -> dict[str, Any]:
    """The identity ``identity_id`` as Globus Auth describes it."""
    is_client = identity_id in clients
    domain = CLIENT_DOMAIN if is_client else USER_DOMAIN
    return {
        "id": identity_id,
        "username": f"{identity_id}@{domain}",
        "name": None,
        "email": None,
        "organization": None,
        "identity_provider": IDENTITY_PROVIDER,
        "identity_type": "client" if is_client else "login",
        "status": "used",
    }


def _canonical_id(text: str) -> str | None:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def _id_of_username(username: str) -> str | None:
    local, at, domain = username.strip().lower().rpartition("@")
    if not at or domain not in (CLIENT_DOMAIN, USER_DOMAIN):
        return None
    return _canonical_id(local)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def get_identities(params: QueryParams, clients: Collection[str]) -> dict[str, Any]:
    """``GET /v2/api/identities?ids=...`` or ``?usernames=...``."""
    ids, usernames = params.words("ids"), params.words("usernames")
    if ids and usernames:
        raise _bad_parameter("ids and usernames are mutually exclusive")
    found: list[str] = []
    for text in ids:
        identity_id = _canonical_id(text)
        if identity_id is None:
            raise _bad_parameter(f"Invalid identity id: {text}")
        found.append(identity_id)
    for username in usernames:
        identity_id = _id_of_username(username)
        if identity_id is not None:
            found.append(identity_id)
    return {"identities": [identity_document(i, clients) for i in _unique(found)]}
