"""How the Flows listings read the caller's roles from a query.

``filter_roles`` is a comma-joined list: the caller must hold one of the roles named on
each item listed. Each listing takes its role names in the singular and, as the service
documents them, in the plural (``run_managers`` for ``run_manager``); both read alike.

``filter_role`` is the older, deprecated parameter: one role, read cumulatively, as the
service documents it. A role that implies weaker ones also selects what the caller holds
those on: ``run_manager`` keeps the runs the caller manages or monitors,
``flow_starter`` the flows the caller may start or view. An owner role stands alone
(``run_owner``: the caller's own runs, which is the service's default). When
``filter_roles`` names a role too, ``filter_roles`` wins and ``filter_role`` is only
checked: it is the current parameter, and a client sending both means it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from ._errors import unprocessable
from ._params import QueryParams


def _enum_error(name: str, allowed: Sequence[str]) -> Exception:
    return unprocessable(
        ["query", name],
        f"value is not a valid enumeration member; permitted: {', '.join(allowed)}",
        "type_error.enum",
    )


@attrs.frozen
class RoleFilter:
    """The role names one listing reads: ``roles`` (singular, the names kept in markers),
    ``plurals`` (another spelling of one of them each), and ``implied``: for each value
    ``filter_role`` takes, the roles it selects."""

    roles: tuple[str, ...]
    plurals: Mapping[str, str]
    implied: Mapping[str, tuple[str, ...]]

    def read(self, params: QueryParams) -> tuple[str, ...]:
        """The roles asked for (``filter_roles``, else ``filter_role``), singular, each
        once; 422 on a name the listing does not know, in either parameter."""
        allowed = (*self.roles, *self.plurals)
        words = params.words("filter_roles")
        for word in words:
            if word not in allowed:
                raise _enum_error("filter_roles", allowed)
        single = params.text("filter_role")
        if single is not None and single not in self.implied:
            raise _enum_error("filter_role", tuple(self.implied))
        if single is not None and not words:
            return self.implied[single]
        return tuple(dict.fromkeys(self.plurals.get(word, word) for word in words))
