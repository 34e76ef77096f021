"""``POST /batch/runs``: change the tags, managers or monitors of many runs, or cancel them.

The body names the runs (``{"filters": {"run_ids": [...]}}``) and what to do with them:
``set`` replaces lists (and ``"status": "cancel"`` cancels), ``add`` and ``remove`` edit them.
The request is all or nothing: a body that does not validate is a 422 listing every bad field,
and a run the caller may not manage (or cannot see) is a 403 naming it; either way no run
changes. Runs that have already ended are not canceled again (nothing else changes for them).
Success is ``202 {}``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._auth import FLOWS_RESOURCE_SERVER, flows_scope, require_resource_server
from ._documents import MANAGING_ROLES
from ._errors import ApiError, validation_item
from ._flows import FlowsState, roles_on
from ._flows_api import _json_body
from ._run_fields import normalize_tag
from ._timeline import run_state
from ._wire import is_principal_urn

if TYPE_CHECKING:
    from ._fake import FakeGlobus

__all__ = ["MAX_RUN_IDS", "apply_batch_update", "batch_runs_routes"]

#: The most run ids one request may name (the emulator's own bound).
MAX_RUN_IDS = 1000
_LISTS = ("tags", "run_managers", "run_monitors")
_CANCELABLE = frozenset({"ACTIVE", "INACTIVE"})
_RUN_MANAGE = flows_scope("run_manage")


def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _check_list(
    section: str, name: str, value: Any, problems: list[dict[str, Any]]
) -> list[str] | None:
    loc = ["body", section, name]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.append(validation_item(loc, "value is not a valid list of strings", "type_error"))
        return None
    if name != "tags" and not all(is_principal_urn(item) for item in value):
        problems.append(
            validation_item(loc, "must be a list of identity or group URNs", "value_error")
        )
        return None
    return [normalize_tag(item) for item in value] if name == "tags" else list(value)


def _check_section(
    section: str, value: Any, problems: list[dict[str, Any]]
) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(validation_item(["body", section], "value is not a valid dict", "type"))
        return {}
    allowed = (*_LISTS, "status") if section == "set" else _LISTS
    changes: dict[str, list[str]] = {}
    for name, item in value.items():
        if name not in allowed:
            problems.append(
                validation_item(["body", section, name], "extra fields not permitted", "extra")
            )
        elif name == "status":
            if item != "cancel":
                problems.append(
                    validation_item(
                        ["body", "set", "status"], "value must be 'cancel'", "value_error.const"
                    )
                )
        else:
            checked = _check_list(section, name, item, problems)
            if checked is not None:
                changes[name] = checked
    return changes


def _parse(payload: Any) -> tuple[list[str], dict[str, dict[str, list[str]]], bool]:
    """The run ids, the list changes by section and whether to cancel; 422 on a bad body."""
    problems: list[dict[str, Any]] = []
    if not isinstance(payload, dict):
        raise ApiError(
            422, "UNPROCESSABLE_ENTITY", [validation_item(["body"], "not a dict", "type")]
        )
    for name in payload:
        if name not in ("filters", "set", "add", "remove"):
            problems.append(validation_item(["body", name], "extra fields not permitted", "extra"))
    filters = payload.get("filters")
    run_ids: list[str] = []
    if not isinstance(filters, dict) or "run_ids" not in filters:
        problems.append(
            validation_item(["body", "filters", "run_ids"], "field required", "missing")
        )
    else:
        for name in filters:
            if name != "run_ids":
                problems.append(
                    validation_item(
                        ["body", "filters", name], "extra fields not permitted", "extra"
                    )
                )
        ids = filters["run_ids"]
        loc = ["body", "filters", "run_ids"]
        if not isinstance(ids, list) or not ids:
            problems.append(validation_item(loc, "must be a non-empty list", "value_error"))
        elif len(ids) > MAX_RUN_IDS:
            problems.append(
                validation_item(loc, f"ensure at most {MAX_RUN_IDS} items", "value_error")
            )
        else:
            for position, run_id in enumerate(ids):
                if not _is_uuid(run_id):
                    problems.append(
                        validation_item([*loc, position], "value is not a valid uuid", "uuid")
                    )
            run_ids = ids
    sections = {
        name: _check_section(name, payload.get(name), problems) for name in ("set", "add", "remove")
    }
    set_section = payload.get("set")
    cancel = isinstance(set_section, dict) and set_section.get("status") == "cancel"
    if not problems and not cancel and not any(sections.values()):
        problems.append(validation_item(["body"], "nothing to change", "value_error"))
    if problems:
        raise ApiError(422, "UNPROCESSABLE_ENTITY", problems)
    return run_ids, sections, cancel


def _edit(current: list[str], section: str, values: list[str]) -> list[str]:
    if section == "set":
        return list(dict.fromkeys(values))
    if section == "add":
        return [*current, *(value for value in values if value not in current)]
    return [value for value in current if value not in values]


def apply_batch_update(state: FlowsState, caller: str, payload: Any, now: datetime) -> None:
    """Validate and apply one ``POST /batch/runs`` body for ``caller`` at ``now``."""
    run_ids, sections, cancel = _parse(payload)
    refused = []
    runs = []
    for run_id in dict.fromkeys(run_ids):
        run = state.runs.get(run_id)
        if run is None or not MANAGING_ROLES.intersection(roles_on(run, caller)):
            refused.append(run_id)
        else:
            runs.append(run)
    if refused:
        shown = ", ".join(refused[:10]) + (", ..." if len(refused) > 10 else "")
        raise ApiError(
            403,
            "FORBIDDEN",
            f"You do not have permission to manage {len(refused)} of the runs: {shown}",
        )
    for run in runs:
        for section in ("set", "add", "remove"):
            for name, values in sections[section].items():
                setattr(run, name, _edit(getattr(run, name), section, values))
        state.index.updated(run, run.label)
        if cancel and run_state(run, now).status in _CANCELABLE:
            run.canceled_at = now
            state.retimed(run)


def batch_runs_routes(fake: FakeGlobus) -> list[Route]:
    """The ``/batch/runs`` route of the emulated Flows service."""

    async def batch_runs(request: Request) -> Response:
        now = fake.clock.now()
        grant = fake.tokens.authenticate(request.headers.get("authorization"), now)
        require_resource_server(grant, FLOWS_RESOURCE_SERVER, _RUN_MANAGE)
        payload = await _json_body(request)
        apply_batch_update(fake.flows_service, grant.urn, payload, now)
        return JSONResponse({}, 202)

    return [Route("/batch/runs", batch_runs, methods=["POST"])]
