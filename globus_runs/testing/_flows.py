"""The emulated Flows service: its flows and runs, and the operations on them.

Pure logic: each operation takes the caller's principal URN, the request's
parsed pieces and the current time, and returns the JSON answer or raises
`ApiError`. Who sees what:

- a caller sees a run when it is the run's owner, one of its ``run_managers``
  or ``run_monitors``, or one of its flow's run managers/monitors; any other
  run is answered with 404, exactly like a run that does not exist;
- updating, canceling, resuming and releasing need a managing role (owner, run
  manager, flow run manager); a caller who may only monitor gets 403
  ``FORBIDDEN``.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from typing import Any

import attrs

from ._auth import flow_scope
from ._documents import MANAGING_ROLES, definition_document, run_document
from ._errors import ApiError, bad_request, forbidden, not_found, state_conflict
from ._listing import (
    RunView,
    first_page,
    page_marker,
    parse_run_query,
    read_marker,
    select_page,
)
from ._markers import decode_marker, encode_marker
from ._params import QueryParams
from ._records import FlowBehavior, FlowRecord, RunRecord
from ._run_fields import RunRequest, parse_run_request, parse_run_update
from ._run_index import RunIndex
from ._schema import validate
from ._timeline import RunState, run_state, status_at, visible_entries

# A caller's roles on a run, most powerful first (user_role is the first held).
ROLE_ORDER = (
    "run_owner",
    "run_manager",
    "flow_run_manager",
    "run_monitor",
    "flow_run_monitor",
)
LOG_LIMIT_DEFAULT = 10
LOG_LIMIT_MAX = 100

_LOG_MARKER_KIND = "log"
_CANCELABLE = ("ACTIVE", "INACTIVE")
_RELEASABLE = ("ENDED", "SUCCEEDED", "FAILED")


def roles_on(run: RunRecord, caller: str) -> tuple[str, ...]:
    """The roles ``caller`` (a principal URN) holds on ``run``, in `ROLE_ORDER`."""
    held = (
        run.owner == caller,
        caller in run.run_managers,
        caller in run.flow.run_managers,
        caller in run.run_monitors,
        caller in run.flow.run_monitors,
    )
    return tuple(role for role, has in zip(ROLE_ORDER, held, strict=True) if has)


def run_view(run: RunRecord, caller: str, now: datetime) -> RunView | None:
    """What listing filters and sorts ``run`` on, as ``caller`` sees it; ``None`` when
    ``caller`` may not see it."""
    roles = roles_on(run, caller)
    if not roles:
        return None
    status, completion_time = status_at(run, now)
    return RunView(
        run_id=run.run_id,
        seq=run.seq,
        flow_id=run.flow.flow_id,
        flow_title=run.flow.title,
        label=run.label,
        status=status,
        start_time=run.start_time,
        completion_time=completion_time,
        roles=roles,
    )


def _check_input(flow: FlowRecord, body: dict[str, Any]) -> None:
    violations = validate(flow.input_schema, body)
    if violations:
        count = len(violations)
        raise ApiError(
            400,
            "FLOW_INPUT_ERROR",
            [{"loc": [v.path], "type": "InvalidActionInput", "msg": v.message} for v in violations],
            message=f"Input failed schema validation with {count} "
            f"error{'' if count == 1 else 's'}.",
        )


class FlowsState:
    """All flows and runs of one emulated Flows service."""

    def __init__(self) -> None:
        self.flows: dict[str, FlowRecord] = {}
        # Change runs through create_run and release_run only: they keep the index.
        self.runs: dict[str, RunRecord] = {}
        self.index = RunIndex()
        self._seq = itertools.count()
        # (principal URN, scope) pairs a person has consented to, and when.
        self.consents: dict[tuple[str, str], datetime] = {}

    def has_consented(self, caller: str, flow: FlowRecord) -> bool:
        """Whether ``caller`` consented to ``flow``'s scope."""
        return (caller, flow_scope(flow.flow_id)) in self.consents

    def add_flow(self, flow: FlowRecord) -> None:
        """Register ``flow`` (replacing one with the same id)."""
        self.flows[flow.flow_id] = flow

    def create_run(
        self,
        flow: FlowRecord,
        owner: str,
        request: RunRequest,
        start_time: datetime,
        behavior: FlowBehavior | None = None,
    ) -> RunRecord:
        """Start a run of ``flow`` for ``owner`` at ``start_time``."""
        behavior = behavior or flow.behavior
        if flow.consent_required and self.has_consented(owner, flow):
            behavior = attrs.evolve(behavior, inactive_after=None)
        run = RunRecord(
            run_id=str(uuid.uuid4()),
            seq=next(self._seq),
            flow=flow,
            behavior=behavior,
            owner=owner,
            body=request.body,
            start_time=start_time,
            label=request.label,
            tags=list(request.tags),
            run_managers=list(request.run_managers),
            run_monitors=list(request.run_monitors),
            activity_notification_policy=request.activity_notification_policy,
            web_input_id=None if flow.web_input is None else str(uuid.uuid4()),
        )
        self.runs[run.run_id] = run
        self.index.add(run)
        return run

    def retimed(self, run: RunRecord) -> None:
        """Say that ``run`` was resumed, canceled or answered: every change of a run's
        ``behavior``, ``resumed_at``, ``canceled_at`` or ``answered_at`` must call this."""
        self.index.changed(run)

    def render(
        self,
        run: RunRecord,
        now: datetime,
        viewer: str,
        *,
        include_flow_description: bool = False,
    ) -> dict[str, Any]:
        """``run`` as ``viewer`` sees it at ``now``."""
        return run_document(
            run,
            run_state(run, now),
            roles_on(run, viewer),
            include_flow_description=include_flow_description,
        )

    def _flow(self, flow_id: str) -> FlowRecord:
        flow = self.flows.get(flow_id)
        if flow is None:
            raise not_found(f"Flow {flow_id} not found")
        return flow

    def visible_run(self, caller: str, run_id: str, *, flow_id: str | None = None) -> RunRecord:
        """The run ``run_id`` if ``caller`` may see it (and, given ``flow_id``, it is a run of
        that flow); 404 otherwise."""
        run = self.runs.get(run_id)
        if (
            run is None
            or not roles_on(run, caller)
            or (flow_id is not None and run.flow.flow_id != flow_id)
        ):
            raise not_found(f"Run {run_id} not found")
        return run

    def _managed_run(self, caller: str, run_id: str) -> RunRecord:
        run = self.visible_run(caller, run_id)
        if not MANAGING_ROLES.intersection(roles_on(run, caller)):
            raise forbidden(f"You do not have permission to manage run {run_id}")
        return run

    def _state_in(self, run: RunRecord, now: datetime, allowed: tuple[str, ...]) -> RunState:
        state = run_state(run, now)
        if state.status not in allowed:
            raise state_conflict(run.run_id, state.status, allowed)
        return state

    def start_run(self, caller: str, flow_id: str, payload: Any, now: datetime) -> dict[str, Any]:
        """``POST /flows/{flow_id}/run``."""
        request = parse_run_request(payload)
        flow = self._flow(flow_id)
        _check_input(flow, request.body)
        run = self.create_run(flow, caller, request, now)
        return self.render(run, now, caller)

    def validate_run(self, flow_id: str, payload: Any) -> dict[str, Any]:
        """``POST /flows/{flow_id}/validate_run``: 200, or 400 for any invalid input or
        metadata (the only failure this endpoint documents besides 403)."""
        try:
            request = parse_run_request(payload)
        except ApiError as err:
            if err.status != 422:
                raise
            raise ApiError(400, "BAD_REQUEST", err.detail) from None
        _check_input(self._flow(flow_id), request.body)
        return {"message": "validation successful"}

    def list_runs(
        self, caller: str, params: QueryParams, now: datetime, *, flow_id: str | None = None
    ) -> dict[str, Any]:
        """``GET /runs``: the runs ``caller`` may see, one page (with ``flow_id``: the legacy
        ``GET /flows/{flow_id}/runs``, the runs of that flow).

        The index walks the runs in the order asked for and stops after a page, or sorts
        the few runs a filter leaves (a marker it cannot place is answered by sorting every
        visible run).
        """
        marker = page_marker(params)
        if marker is None:
            query, after = parse_run_query(params, under_flow=flow_id is not None), None
            if flow_id is not None:
                query = attrs.evolve(query, flow_ids=(self._flow(flow_id).flow_id,))
        else:
            query, after = read_marker(marker)
        walk = self.index.walk(query, after, now, caller)
        if walk is None:
            page = select_page(self.visible_views(caller, now), query, after)
        else:
            views = (view for run in walk if (view := run_view(run, caller, now)) is not None)
            page = first_page(views, query)
        runs = [self.runs[view.run_id] for view in page.runs]
        return {
            "runs": [self.render(run, now, caller) for run in runs],
            "has_next_page": page.marker is not None,
            "marker": page.marker,
            "limit": query.per_page,
        }

    def visible_views(self, caller: str, now: datetime) -> list[RunView]:
        """What listing filters and sorts on, for every run ``caller`` may see."""
        return [
            view for run in self.runs.values() if (view := run_view(run, caller, now)) is not None
        ]

    def get_run(
        self, caller: str, run_id: str, params: QueryParams, now: datetime
    ) -> dict[str, Any]:
        """``GET /runs/{run_id}``."""
        include = params.boolean("include_flow_description", False)
        run = self.visible_run(caller, run_id)
        return self.render(run, now, caller, include_flow_description=include)

    def update_run(self, caller: str, run_id: str, payload: Any, now: datetime) -> dict[str, Any]:
        """``PUT /runs/{run_id}``: only the fields sent change."""
        changes = parse_run_update(payload)
        run = self._managed_run(caller, run_id)
        label = run.label
        for name, value in changes.items():
            setattr(run, name, list(value) if isinstance(value, list) else value)
        self.index.updated(run, label)
        return self.render(run, now, caller)

    def cancel_run(self, caller: str, run_id: str, now: datetime) -> dict[str, Any]:
        """``POST /runs/{run_id}/cancel``: the run ends FAILED with FlowCanceled."""
        run = self._managed_run(caller, run_id)
        self._state_in(run, now, _CANCELABLE)
        run.canceled_at = now
        self.retimed(run)
        return self.render(run, now, caller)

    def resume_run(self, caller: str, run_id: str, now: datetime) -> dict[str, Any]:
        """``POST /runs/{run_id}/resume``: an INACTIVE run continues from now.

        A run of a flow that needs consent stays INACTIVE while the caller has not consented.
        """
        run = self._managed_run(caller, run_id)
        self._state_in(run, now, ("INACTIVE",))
        if run.flow.consent_required and not self.has_consented(caller, run.flow):
            return self.render(run, now, caller)
        run.resumed_at = now
        self.retimed(run)
        return self.render(run, now, caller)

    def release_run(self, caller: str, run_id: str, now: datetime) -> dict[str, Any]:
        """``POST /runs/{run_id}/release``: forget a finished run."""
        run = self._managed_run(caller, run_id)
        self._state_in(run, now, _RELEASABLE)
        document = self.render(run, now, caller)
        del self.runs[run_id]
        self.index.remove(run)
        return document

    def run_log(
        self,
        caller: str,
        run_id: str,
        params: QueryParams,
        now: datetime,
        *,
        flow_id: str | None = None,
    ) -> dict[str, Any]:
        """``GET /runs/{run_id}/log``: one page of the entries logged so far; 400 for a
        query that does not parse.

        With ``flow_id`` (the legacy ``GET /flows/{flow_id}/runs/{run_id}/log``) the run must
        be of that flow.
        """
        try:
            marker = page_marker(params)
            if marker is None:
                limit = params.integer("limit", LOG_LIMIT_DEFAULT, 1, LOG_LIMIT_MAX)
                reverse = params.boolean("reverse_order", False)
                position: int | None = None
            else:
                limit, reverse, position = _read_log_marker(marker, run_id)
        except ApiError as err:
            if err.status != 422:
                raise
            raise bad_request(err.detail) from None
        run = self.visible_run(caller, run_id, flow_id=flow_id)
        entries = visible_entries(run, now)
        if reverse:
            end = len(entries) if position is None else min(position, len(entries))
            begin = max(0, end - limit)
            chunk = entries[begin:end][::-1]
            following = begin if begin > 0 else None
        else:
            begin = position or 0
            chunk = entries[begin : begin + limit]
            following = begin + limit if begin + limit < len(entries) else None
        next_marker = None
        if following is not None:
            next_marker = encode_marker(
                _LOG_MARKER_KIND,
                {"run_id": run_id, "limit": limit, "reverse": reverse, "pos": following},
            )
        return {
            "entries": [entry.to_json() for entry in chunk],
            "has_next_page": next_marker is not None,
            "marker": next_marker,
            "limit": limit,
        }

    def run_definition(self, caller: str, run_id: str) -> dict[str, Any]:
        """``GET /runs/{run_id}/definition``."""
        return definition_document(self.visible_run(caller, run_id).flow)


def _read_log_marker(marker: str, run_id: str) -> tuple[int, bool, int]:
    state = decode_marker(_LOG_MARKER_KIND, marker)
    limit, reverse, position = state.get("limit"), state.get("reverse"), state.get("pos")
    if (
        state.get("run_id") != run_id
        or not isinstance(limit, int)
        or not 1 <= limit <= LOG_LIMIT_MAX
        or not isinstance(reverse, bool)
        or not isinstance(position, int)
        or position < 0
    ):
        raise bad_request("Invalid marker")
    return limit, reverse, position
