"""Authorizers: where the ``Authorization`` header of each request comes from."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol, runtime_checkable

from ._errors import ConfigurationError, InvalidRequestError

__all__ = [
    "AccessTokenAuthorizer",
    "Authorizer",
    "CallbackAuthorizer",
    "TokenMapAuthorizer",
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
        """Return the header value (``"Bearer ..."``), or ``None`` to send none.

        Example::

            header = await authorizer.get_authorization_header("flows.globus.org")
        """
        ...

    async def handle_unauthorized(self, resource_server: str, rejected_header: str | None) -> bool:
        """React to a 401 answered to ``rejected_header``; return True when a retry may succeed.

        Example::

            if await authorizer.handle_unauthorized("flows.globus.org", header):
                ...  # send the request again with a fresh header
        """
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
        """The same ``Bearer`` header for every resource server.

        Example::

            header = await AccessTokenAuthorizer(token).get_authorization_header("flows.globus.org")
        """
        return self._header

    async def handle_unauthorized(self, resource_server: str, rejected_header: str | None) -> bool:
        """A fixed token cannot be renewed: always ``False``.

        Example::

            assert not await authorizer.handle_unauthorized("flows.globus.org", header)
        """
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


class TokenMapAuthorizer:
    """A fixed token per resource server: Flows, Timers, and each flow you start runs of.

    Example::

        authorizer = TokenMapAuthorizer({
            "flows.globus.org": flows_token,
            flow_id: flow_token,  # run_flow and resume_run use the flow's own token
            TIMERS_RESOURCE_SERVER: timers_token,
        })
    """

    __slots__ = ("_default", "_headers")

    def __init__(self, tokens: Mapping[str, str], *, default: str | None = None) -> None:
        if not all(isinstance(k, str) and isinstance(v, str) and v for k, v in tokens.items()):
            raise ConfigurationError("tokens must map resource server names to token strings")
        self._headers = {server: f"Bearer {token}" for server, token in tokens.items()}
        self._default = f"Bearer {default}" if default else None

    async def get_authorization_header(self, resource_server: str) -> str | None:
        """The token of ``resource_server`` (or the default one); raises
        :class:`ConfigurationError` when there is none.

        Example::

            header = await authorizer.get_authorization_header(flow_id)  # the flow's own token
        """
        header = self._headers.get(resource_server, self._default)
        if header is None:
            raise ConfigurationError(f"no token for resource server {resource_server!r}")
        return header

    async def handle_unauthorized(self, resource_server: str, rejected_header: str | None) -> bool:
        """Fixed tokens cannot be renewed: always ``False``.

        Example::

            assert not await authorizer.handle_unauthorized("flows.globus.org", header)
        """
        return False

    def __repr__(self) -> str:
        return f"TokenMapAuthorizer(resource_servers={sorted(self._headers)!r})"


TokenGetter = Callable[[str], "str | Awaitable[str | None] | None"]


class CallbackAuthorizer:
    """Asks a function for the token of each resource server, on every request.

    This is how tokens held elsewhere are used: the function can read them from the official
    ``globus-sdk`` token storage, a web session or a vault, and may be sync or async. After
    a 401 the request is retried once if the function then returns a different token.

    Example (tokens a user holds through ``globus-sdk``)::

        app = globus_sdk.UserApp("my-app", client_id=CLIENT_ID)
        def token_for(resource_server: str) -> str:
            return app.token_storage.get_token_data(resource_server).access_token

        flows = FlowsClient(authorizer=CallbackAuthorizer(token_for))
    """

    __slots__ = ("_get_token",)

    def __init__(self, get_token: TokenGetter) -> None:
        if not callable(get_token):
            raise ConfigurationError("get_token must be callable")
        self._get_token = get_token

    async def get_authorization_header(self, resource_server: str) -> str | None:
        """Ask the function for the token of ``resource_server`` (no header when it returns none).

        Example::

            authorizer = CallbackAuthorizer(token_for)
            header = await authorizer.get_authorization_header("flows.globus.org")
        """
        token = self._get_token(resource_server)
        if inspect.isawaitable(token):
            token = await token
        if not token:
            return None
        if not isinstance(token, str):  # a bytes token would go out as "Bearer b'...'"
            raise InvalidRequestError(
                f"the function of CallbackAuthorizer returned a {type(token).__name__}, not a "
                "str token"
            )
        return f"Bearer {token}"

    async def handle_unauthorized(self, resource_server: str, rejected_header: str | None) -> bool:
        """Ask again; a retry may help when the function now gives another token.

        Example::

            retry = await authorizer.handle_unauthorized("flows.globus.org", rejected_header)
        """
        return await self.get_authorization_header(resource_server) != rejected_header

    def __repr__(self) -> str:
        return f"CallbackAuthorizer({getattr(self._get_token, '__name__', 'function')})"
