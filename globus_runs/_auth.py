"""Authorizers: where the ``Authorization`` header of each request comes from."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ._errors import ConfigurationError

__all__ = [
    "AccessTokenAuthorizer",
    "Authorizer",
    "FLOWS_RESOURCE_SERVER",
    "TIMERS_RESOURCE_SERVER",
    "as_authorizer",
]

FLOWS_RESOURCE_SERVER = "flows.globus.org"
TIMERS_RESOURCE_SERVER = "524230d7-ea86-4a52-8312-86065a9e0417"


@runtime_checkable
class Authorizer(Protocol):
    """Gives the ``Authorization`` header for a resource server and hears about rejections.

    ``get_authorization_header`` is awaited before every attempt of every request;
    ``handle_unauthorized`` is awaited after a 401 and returns whether retrying may help
    (it renewed the token, say). A static token returns ``False``.
    """

    async def get_authorization_header(self, resource_server: str) -> str | None:
        """Return the header value (``"Bearer ..."``), or ``None`` to send none."""
        ...

    async def handle_unauthorized(self, resource_server: str, rejected_header: str | None) -> bool:
        """React to a 401 answered to ``rejected_header``; return True when a retry may succeed."""
        ...


class AccessTokenAuthorizer:
    """A fixed bearer token, used for every resource server.

    Example::

        flows = FlowsClient(authorizer=AccessTokenAuthorizer(token))  # same as authorizer=token
    """

    __slots__ = ("_header",)

    def __init__(self, token: str) -> None:
        if not isinstance(token, str) or not token:
            raise ConfigurationError("token must be a non-empty str")
        self._header = f"Bearer {token}"

    async def get_authorization_header(self, resource_server: str) -> str | None:
        return self._header

    async def handle_unauthorized(self, resource_server: str, rejected_header: str | None) -> bool:
        return False

    def __repr__(self) -> str:
        return "AccessTokenAuthorizer(token=<redacted>)"


def as_authorizer(value: str | Authorizer | None) -> Authorizer | None:
    """Accept a plain token string wherever an authorizer is expected."""
    if value is None or isinstance(value, Authorizer):
        return value
    if isinstance(value, str):
        return AccessTokenAuthorizer(value)
    raise ConfigurationError(
        f"authorizer must be a str or an Authorizer, not {type(value).__name__}"
    )
