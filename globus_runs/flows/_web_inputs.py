"""Web inputs on the wire: what ``GET /web_inputs``, ``GET /web_inputs/{id}`` and
``POST /web_inputs/{id}/respond`` send. Pure functions from arguments to :class:`ApiRequest`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._auth import FLOWS_RESOURCE_SERVER
from .._errors import InvalidRequestError, WebInputNotFoundError
from .._wire import ApiRequest, QueryValue, encode_query, id_segment, json_body

__all__ = [
    "MAX_FILTER_IDS",
    "MAX_PER_PAGE",
    "get_web_input",
    "list_web_inputs",
    "next_page",
    "respond_to_web_input",
]

StrOrSeq = str | Sequence[str]

ROLES = frozenset({"viewer", "respondent"})
STATES = frozenset({"open", "closed"})
ORDER_FIELDS = frozenset({"created_timestamp", "edited_timestamp", "closed_timestamp"})
MAX_FILTER_IDS = 10
MAX_PER_PAGE = 100
_PATH = "/web_inputs"


def _words(value: StrOrSeq | None, name: str) -> list[str] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    if not all(isinstance(item, str) for item in items):
        raise InvalidRequestError(f"{name} must be a str or a sequence of str")
    if not items:
        raise InvalidRequestError(f"{name} must not be empty")
    return items


def _choices(value: StrOrSeq | None, name: str, allowed: frozenset[str]) -> list[str] | None:
    items = _words(value, name)
    if items is not None:
        unknown = [item for item in items if item not in allowed]
        if unknown:
            raise InvalidRequestError(f"{name} must be among {sorted(allowed)}, not {unknown}")
    return items


def _ids(value: StrOrSeq | None, name: str) -> list[str] | None:
    items = _words(value, name)
    if items is not None:
        if len(items) > MAX_FILTER_IDS:
            raise InvalidRequestError(f"{name} takes at most {MAX_FILTER_IDS} ids")
        for item in items:
            id_segment(item, name)
    return items


def _orderby(value: StrOrSeq | None) -> list[str] | None:
    items = _words(value, "orderby")
    for item in items or ():
        field, _, direction = item.strip().partition(" ")
        if field not in ORDER_FIELDS or direction.strip().upper() not in ("", "ASC", "DESC"):
            raise InvalidRequestError(
                f"orderby {item!r} must be one of {sorted(ORDER_FIELDS)}, optionally with "
                "ASC or DESC"
            )
    return items


def list_web_inputs(
    *,
    filter_roles: StrOrSeq | None = None,
    filter_states: StrOrSeq | None = None,
    filter_flow_ids: StrOrSeq | None = None,
    filter_run_ids: StrOrSeq | None = None,
    orderby: StrOrSeq | None = None,
    per_page: int | None = None,
    marker: str | None = None,
) -> ApiRequest:
    """``GET /web_inputs``; with a ``marker`` only the marker is sent (it carries the rest)."""
    if marker is not None:
        return next_page(marker)
    valid = isinstance(per_page, int) and not isinstance(per_page, bool)
    if per_page is not None and (not valid or not 1 <= per_page <= MAX_PER_PAGE):
        raise InvalidRequestError(f"per_page must be an int from 1 to {MAX_PER_PAGE}")
    params: dict[str, QueryValue] = {
        "filter_roles": _choices(filter_roles, "filter_roles", ROLES),
        "filter_states": _choices(filter_states, "filter_states", STATES),
        "filter_flow_ids": _ids(filter_flow_ids, "filter_flow_ids"),
        "filter_run_ids": _ids(filter_run_ids, "filter_run_ids"),
        "orderby": _orderby(orderby),
        "per_page": per_page,
    }
    return ApiRequest("GET", _PATH, FLOWS_RESOURCE_SERVER, params=encode_query(params))


def next_page(marker: str) -> ApiRequest:
    """A follow-up page of ``GET /web_inputs``: only the marker is sent."""
    if not isinstance(marker, str) or not marker:
        raise InvalidRequestError("marker must be a non-empty str")
    return ApiRequest("GET", _PATH, FLOWS_RESOURCE_SERVER, params=(("marker", marker),))


def get_web_input(web_input_id: str) -> ApiRequest:
    """``GET /web_inputs/{web_input_id}``."""
    segment = id_segment(web_input_id, "web_input_id")
    return ApiRequest(
        "GET", f"{_PATH}/{segment}", FLOWS_RESOURCE_SERVER, not_found=WebInputNotFoundError
    )


def respond_to_web_input(web_input_id: str, value: Any) -> ApiRequest:
    """``POST /web_inputs/{web_input_id}/respond`` with ``{"response": {"value": value}}``.

    The service records one answer and refuses any later one (409), so retrying a lost
    answer can never record two; a 409 after a retry may be the first attempt's success.
    """
    segment = id_segment(web_input_id, "web_input_id")
    return ApiRequest(
        "POST",
        f"{_PATH}/{segment}/respond",
        FLOWS_RESOURCE_SERVER,
        body=json_body({"response": {"value": value}}),
        not_found=WebInputNotFoundError,
    )
