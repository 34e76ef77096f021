"""How the Flows listings read the caller's roles from a query.

``filter_roles`` is a comma-joined list: the caller must hold one of the roles named on
each item listed. Each listing takes its role names in the singular and, as the service
documents them, in the plural (``run_managers`` for ``run_manager``); both read alike.
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
    ``plurals`` (another spelling of one of them each)."""

    roles: tuple[str, ...]
    plurals: Mapping[str, str] = attrs.field(factory=dict)

    def read(self, params: QueryParams) -> tuple[str, ...]:
        """The roles asked for by ``filter_roles``, singular, each once; 422 on a name
        the listing does not know."""
        allowed = (*self.roles, *self.plurals)
        words = params.words("filter_roles")
        for word in words:
            if word not in allowed:
                raise _enum_error("filter_roles", allowed)
        return tuple(dict.fromkeys(self.plurals.get(word, word) for word in words))
