"""Which answers show that a Flows batch's remaining items cannot succeed.

- a 401 to a token that cannot be renewed (a fixed token, or none): every item sent with that
  token (a single fixed token is sent everywhere; a token map's, to its resource server);
- a 403 ``MISSING_SCOPE``: every item needing the same resource server's scope (Flows for run
  ids, the flow itself for starts);
- a :class:`FlowNotFoundError`, or a 403 ``FORBIDDEN`` to a start: every start of that flow.

A 403 ``FORBIDDEN`` to an operation on a run concerns that run alone (the caller may monitor
it but not cancel it, say): the other runs are still sent.
"""

from __future__ import annotations

from collections.abc import Hashable

from .._auth import FLOWS_RESOURCE_SERVER, AccessTokenAuthorizer, Authorizer, TokenMapAuthorizer
from .._batch import Stops
from .._errors import AuthenticationError, FlowNotFoundError, PermissionDeniedError
from .._models import RunRequest

__all__ = ["flows_stops"]

_EVERY_SERVER = "*"


def _resource_server(item: object) -> str | None:
    if isinstance(item, RunRequest):
        return item.flow_id if isinstance(item.flow_id, str) else None
    return FLOWS_RESOURCE_SERVER if isinstance(item, str) else None


def _keys(item: object) -> tuple[Hashable, ...]:
    server = _resource_server(item)
    if server is None:
        return ()
    keys: list[Hashable] = [("token", _EVERY_SERVER), ("token", server), ("scope", server)]
    if isinstance(item, RunRequest):
        keys.append(("flow", server))
    return tuple(keys)


def flows_stops(authorizer: Authorizer | None, *, token_only: bool = False) -> Stops[object]:
    """The :class:`Stops` of a Flows batch whose requests are authorized by ``authorizer``.

    ``token_only`` is for items whose resource server cannot be told from the item (a resume
    needs the run's own flow's token): only a rejected fixed token, sent everywhere, stops them.
    """

    def rule(item: object, error: BaseException) -> tuple[Hashable, str] | None:
        if token_only:
            if isinstance(error, AuthenticationError) and authorizer is None:
                return ("token", _EVERY_SERVER), "the service wants a token and none is sent"
            if isinstance(error, AuthenticationError) and isinstance(
                authorizer, AccessTokenAuthorizer
            ):
                return ("token", _EVERY_SERVER), "the token was rejected and cannot be renewed"
            return None
        server = _resource_server(item)
        if server is None:
            return None
        if isinstance(error, AuthenticationError):
            if authorizer is None:
                return ("token", _EVERY_SERVER), "the service wants a token and none is sent"
            if isinstance(authorizer, AccessTokenAuthorizer):
                return ("token", _EVERY_SERVER), "the token was rejected and cannot be renewed"
            if isinstance(authorizer, TokenMapAuthorizer):
                reason = f"the token for {server} was rejected and cannot be renewed"
                return ("token", server), reason
            return None
        if isinstance(error, PermissionDeniedError) and error.code == "MISSING_SCOPE":
            return ("scope", server), f"the token lacks the scope of {server}"
        if isinstance(item, RunRequest):
            if isinstance(error, FlowNotFoundError):
                return ("flow", server), f"flow {server} was not found"
            if isinstance(error, PermissionDeniedError) and error.code == "FORBIDDEN":
                return ("flow", server), f"starting runs of flow {server} is forbidden"
        return None

    return Stops(_token_keys if token_only else _keys, rule)


def _token_keys(item: object) -> tuple[Hashable, ...]:
    return (("token", _EVERY_SERVER),)
