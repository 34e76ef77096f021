"""Looking flows up: ``GET /flows/{flow_id}`` and ``GET /flows`` of the emulated Flows.

Pure logic, like `FlowsState`'s operations. Every registered flow is public: anyone
may view and start it (the emulator does not check who starts a run), so its
``flow_viewers`` is ``["public"]`` and its ``flow_starters`` is
``["all_authenticated_users"]``; its owner is the one identity holding
``flow_owner``. What a user of the emulator may rely on:

- a flow document has the fields of production's (``id``, ``title``,
  ``definition``, ``input_schema``, ``globus_auth_scope``, ``flow_owner``,
  ``flow_administrators``, ``run_managers``, ``run_monitors``, ``created_at``,
  ``updated_at``, ``user_role``...);
- an unknown flow is a 404 ``NOT_FOUND`` in Flows' error shape;
- ``GET /flows`` lists flows in registration order, ``per_page`` at a time (default
  `FLOWS_PER_PAGE_DEFAULT`, at most `FLOWS_PER_PAGE_MAX`), with a ``marker`` to the
  next page; ``filter_roles`` keeps the flows the caller holds one of the roles on
  (named in the singular, ``flow_viewer``, or in the plural, ``flow_viewers``; the
  deprecated ``filter_role`` is read as `globus_runs.testing._role_filters` says),
  ``filter_fulltext`` the ones whose title, subtitle, description or keywords
  contain every word given (case-insensitively); ``orderby`` is checked but the
  order stays the registration order.
"""

from __future__ import annotations

from typing import Any

from ._auth import flow_scope
from ._errors import bad_request, not_found, unprocessable
from ._flows import FlowsState
from ._markers import decode_marker, encode_marker
from ._params import QueryParams
from ._records import FlowRecord
from ._role_filters import RoleFilter
from ._wire import format_time

FLOW_ROLES = (
    "flow_owner",
    "flow_administrator",
    "flow_starter",
    "flow_viewer",
    "run_manager",
    "run_monitor",
)
# ``GET /flows`` reads its roles as the service documents them, in the plural, and as
# official clients send them, in the singular.
FLOW_ROLE_FILTER = RoleFilter(
    FLOW_ROLES,
    {
        "flow_administrators": "flow_administrator",
        "flow_starters": "flow_starter",
        "flow_viewers": "flow_viewer",
        "run_managers": "run_manager",
        "run_monitors": "run_monitor",
    },
    {
        "flow_owner": ("flow_owner",),
        "flow_administrator": ("flow_administrator", "flow_starter", "flow_viewer"),
        "flow_starter": ("flow_starter", "flow_viewer"),
        "flow_viewer": ("flow_viewer",),
        "run_manager": ("run_manager", "run_monitor"),
        "run_monitor": ("run_monitor",),
    },
)
FLOW_ORDER_FIELDS = (
    "id",
    "scope_string",
    "flow_owners",
    "flow_administrators",
    "title",
    "created_at",
    "updated_at",
)
FLOWS_PER_PAGE_DEFAULT = 20
FLOWS_PER_PAGE_MAX = 50  # as for ``GET /runs``: the largest size known to work
# Production names flows by their URL on the Flows service.
_FLOW_URL_BASE = "https://flows.globus.org/flows/"
_PUBLIC = "public"
_ALL_USERS = "all_authenticated_users"
_MARKER_KIND = "flows"


def flow_roles(flow: FlowRecord, caller: str) -> tuple[str, ...]:
    """The roles ``caller`` (a principal URN) holds on ``flow``, most powerful first."""
    held = (
        flow.owner == caller,
        False,  # the emulator registers no flow administrators
        True,  # every flow may be started by any authenticated caller
        True,  # and viewed by anyone
        caller in flow.run_managers,
        caller in flow.run_monitors,
    )
    return tuple(role for role, has in zip(FLOW_ROLES, held, strict=True) if has)


def flow_document(flow: FlowRecord, caller: str) -> dict[str, Any]:
    """``flow`` as ``GET /flows/{flow_id}`` shows it to ``caller``: who may view, start and
    administer it is shown to its owner (the only administrator the emulator knows) and
    is empty for everyone else."""
    viewers, starters, administrators = list[str](), list[str](), list[str]()
    if flow.owner == caller:
        viewers, starters = [_PUBLIC], [_ALL_USERS]
    return {
        "id": flow.flow_id,
        "title": flow.title,
        "subtitle": flow.subtitle,
        "description": flow.description,
        "keywords": list(flow.keywords),
        "definition": flow.definition,
        "input_schema": flow.input_schema,
        "globus_auth_scope": flow_scope(flow.flow_id),
        "synchronous": False,
        "log_supported": True,
        "types": ["Action"],
        "api_version": "1.0",
        "principal_urn": f"urn:globus:auth:identity:{flow.flow_id}",
        "globus_auth_username": f"{flow.flow_id}@clients.auth.globus.org",
        "created_at": format_time(flow.created_at),
        "updated_at": format_time(flow.updated_at),
        "user_role": flow_roles(flow, caller)[0],
        "created_by": flow.owner,
        "flow_owner": flow.owner,
        "flow_viewers": viewers,
        "flow_starters": starters,
        "flow_administrators": administrators,
        "visible_to": list(viewers),
        "runnable_by": list(starters),
        "administered_by": list(administrators),
        "run_managers": list(flow.run_managers),
        "run_monitors": list(flow.run_monitors),
        "action_url": f"{_FLOW_URL_BASE}{flow.flow_id}",
        "flow_url": f"{_FLOW_URL_BASE}{flow.flow_id}",
    }


def get_flow(state: FlowsState, caller: str, flow_id: str) -> dict[str, Any]:
    """``GET /flows/{flow_id}``; 404 ``NOT_FOUND`` for a flow that is not registered."""
    flow = state.flows.get(flow_id)
    if flow is None:
        raise not_found(f"Flow {flow_id} not found")
    return flow_document(flow, caller)


def _check_orderby(params: QueryParams) -> None:
    for clause in params.words("orderby"):
        words = clause.split()
        if (
            len(words) != 2
            or words[0] not in FLOW_ORDER_FIELDS
            or words[1].upper() not in ("ASC", "DESC")
        ):
            raise unprocessable(
                ["query", "orderby"],
                f"invalid ordering {clause!r}: expected 'FIELD ASC' or 'FIELD DESC' "
                f"with FIELD one of {', '.join(FLOW_ORDER_FIELDS)}",
                "value_error.orderby",
            )


def _matches_text(flow: FlowRecord, words: list[str]) -> bool:
    haystack = " ".join([flow.title, flow.subtitle, flow.description, *flow.keywords]).casefold()
    return all(word.casefold() in haystack for word in words)


def _read_marker(marker: str) -> tuple[tuple[str, ...], list[str], int, int]:
    state = decode_marker(_MARKER_KIND, marker)
    roles, words, per_page, position = (
        state.get("roles"),
        state.get("fulltext"),
        state.get("per_page"),
        state.get("pos"),
    )
    if (
        not isinstance(roles, list)
        or not all(role in FLOW_ROLES for role in roles)
        or not isinstance(words, list)
        or not all(isinstance(word, str) for word in words)
        or not isinstance(per_page, int)
        or not 1 <= per_page <= FLOWS_PER_PAGE_MAX
        or not isinstance(position, int)
        or position < 0
    ):
        raise bad_request("Invalid marker")
    return tuple(roles), words, per_page, position


def list_flows(state: FlowsState, caller: str, params: QueryParams) -> dict[str, Any]:
    """``GET /flows``: one page of the flows ``caller`` may see."""
    marker = params.text("marker")
    if marker is None:
        roles = FLOW_ROLE_FILTER.read(params)
        words = (params.text("filter_fulltext") or "").split()
        _check_orderby(params)
        per_page = params.integer("per_page", FLOWS_PER_PAGE_DEFAULT, 1, FLOWS_PER_PAGE_MAX)
        position = 0
    else:
        roles, words, per_page, position = _read_marker(marker)
    matching = [
        flow
        for flow in state.flows.values()
        if (not roles or set(roles).intersection(flow_roles(flow, caller)))
        and _matches_text(flow, words)
    ]
    page = matching[position : position + per_page]
    following = position + per_page
    next_marker = None
    if following < len(matching):
        next_marker = encode_marker(
            _MARKER_KIND,
            {"roles": list(roles), "fulltext": words, "per_page": per_page, "pos": following},
        )
    return {
        "flows": [flow_document(flow, caller) for flow in page],
        "limit": per_page,
        "has_next_page": next_marker is not None,
        "marker": next_marker,
    }
