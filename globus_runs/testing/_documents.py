"""The JSON documents Flows answers with, built from emulator records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._auth import flow_scope
from ._records import FlowRecord, RunRecord
from ._timeline import RunState
from ._wire import format_time

# The roles that may manage a run (update, cancel, resume, release it).
MANAGING_ROLES = frozenset({"run_owner", "run_manager", "flow_run_manager"})


def flow_description(flow: FlowRecord) -> dict[str, Any]:
    """The ``flow_description`` of a run fetched with ``include_flow_description``."""
    return {
        "id": flow.flow_id,
        "title": flow.title,
        "subtitle": flow.subtitle,
        "description": flow.description,
        "keywords": list(flow.keywords),
        "flow_owner": flow.owner,
        "created_at": format_time(flow.created_at),
        "updated_at": format_time(flow.updated_at),
        "globus_auth_scope": flow_scope(flow.flow_id),
    }


def run_document(
    run: RunRecord,
    state: RunState,
    roles: Sequence[str],
    *,
    include_flow_description: bool = False,
) -> dict[str, Any]:
    """A run as ``GET /runs/{id}`` shows it to a caller holding ``roles``.

    ``completion_time`` is present only once the run has finished. A caller who may only
    monitor the run sees empty ``run_managers`` and ``run_monitors``.
    """
    manages = not MANAGING_ROLES.isdisjoint(roles)
    managers = list(run.run_managers) if manages else []
    monitors = list(run.run_monitors) if manages else []
    document: dict[str, Any] = {
        "run_id": run.run_id,
        "action_id": run.run_id,
        "flow_id": run.flow.flow_id,
        "flow_title": run.flow.title,
        "flow_last_updated": format_time(run.flow.updated_at),
        "start_time": format_time(run.start_time),
    }
    if state.completion_time is not None:
        document["completion_time"] = format_time(state.completion_time)
    document.update(
        {
            "status": state.status,
            "display_status": state.status,
            "details": state.details,
            "run_owner": run.owner,
            "run_managers": managers,
            "run_monitors": monitors,
            "user_role": roles[0] if roles else None,
            "user_roles": list(roles),
            "label": run.label,
            "tags": list(run.tags),
            "blocking_web_input_id": state.blocking_web_input_id,
            "activity_notification_policy": run.activity_notification_policy,
            "created_by": run.owner,
            "manage_by": list(managers),
            "monitor_by": list(monitors),
        }
    )
    if include_flow_description:
        document["flow_description"] = flow_description(run.flow)
    return document


def definition_document(flow: FlowRecord) -> dict[str, Any]:
    """The answer of ``GET /runs/{id}/definition``."""
    return {
        "flow_id": flow.flow_id,
        "definition": flow.definition,
        "input_schema": flow.input_schema,
    }
