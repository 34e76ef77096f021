"""The emulated Timers service: timers ("jobs"), their firings and their history.

Pure logic: each operation takes the caller's principal URN, the request's
parsed pieces and the current time, and returns the JSON answer or raises
`ApiError`. What a user of the emulator may rely on:

- a timer belongs to the identity that created it; anyone else gets 404, as
  for a timer that does not exist;
- firing is lazy, like the progress of runs: whenever the state is read, every
  firing that has come due since is carried out at its scheduled time. A flow
  timer's firing starts a run in the emulated Flows service (owned by the
  timer's owner, with the stored body, tags, managers and monitors, and
  the input checked against the flow's schema) and records a result; a failed
  submission (flow gone, invalid input) records the Flows error instead;
- a schedule whose first moment is in the past (or absent) fires as soon as
  possible, then every ``interval`` from then on; a recurring schedule given without
  ``start`` is shown with ``start`` the moment it was created; a recurring timer stops after
  its ``end`` time or its ``count`` firings and then has status ``ended``;
- a paused timer does not fire; firings that fell due while it was paused are
  not made up, except that a one-time timer that missed its moment fires as
  soon as it is resumed;
- ``status`` is ``new`` until the first firing, then ``loaded``; ``inactive``
  while paused; ``ended`` once no firing is left; ``delete_in_progress`` for
  `DELETE_SECONDS` after a delete, then ``deleted`` (still readable by its owner,
  no longer listed);
- a firing whose flow start fails the way production retries (`fail_submissions`: the
  Flows service answering 5xx or unreachable) records nothing and is tried again every
  `RETRY_SECONDS` until an attempt starts the run; that result is recorded as any
  other, and the schedule goes on from the firing's scheduled moment. A pause drops the
  retries (the firing counts as missed while paused);
- ``activity`` says what the timer does now, with the fields of its code:
  ``awaiting_next_run`` (``next_run``), ``run_in_progress`` (``start_timestamp``,
  ``duration_seconds``), ``retrying`` (``start_timestamp``: the first failed attempt),
  ``paused`` (``reason``); none once ended or deleted;
- results are listed newest first, ``page_size`` at a time (default
  `RESULTS_PAGE_DEFAULT`, at most `RESULTS_PAGE_MAX`); the ``results_pt``
  token of the next page does not shift when new results arrive meanwhile.
"""

from __future__ import annotations

import heapq
import itertools
import secrets
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

import attrs

from ._auth import flow_scope
from ._errors import ApiError, bad_request, unprocessable
from ._flows import FlowsState
from ._markers import decode_marker, encode_marker
from ._params import QueryParams
from ._records import RunRecord
from ._timeline import TERMINAL_STATUSES, run_state
from ._timer_fields import (
    FLOWS_CALLBACK_BASE,
    TRANSFER_CALLBACK_URL,
    Schedule,
    TimerRequest,
    TimerType,
    parse_job,
    parse_rename,
    parse_timer,
)
from ._wire import format_time, parse_time

__all__ = [
    "DELETE_SECONDS",
    "FLOWS_CALLBACK_BASE",
    "RESULTS_PAGE_DEFAULT",
    "RESULTS_PAGE_MAX",
    "RETRY_SECONDS",
    "TIMER_STATUS_FILTERS",
    "TRANSFER_CALLBACK_URL",
    "Resume",
    "TimerRecord",
    "TimerResult",
    "TimersState",
]

DELETE_SECONDS = 5.0
RETRY_SECONDS = 30.0
RESULTS_PAGE_DEFAULT = 10
RESULTS_PAGE_MAX = 100
# What each ``filter_status`` word of ``GET /jobs/`` matches.
TIMER_STATUS_FILTERS: dict[str, frozenset[str]] = {
    "active": frozenset({"new", "loaded"}),
    "inactive": frozenset({"inactive"}),
    "ended": frozenset({"ended"}),
}

_RESULTS_MARKER_KIND = "timer_results"


@attrs.define(kw_only=True, eq=False)
class TimerResult:
    """One firing of a timer: what was submitted and what came back.

    ``run`` is the flow run started (its status is read from it whenever the
    result is shown); a failed submission has ``errors`` and no run.
    """

    seq: int
    ran_at: datetime
    status: int
    data: dict[str, Any] | None
    errors: dict[str, Any] | None = None
    resource_id: str | None = None
    run: RunRecord | None = None
    # For firings that start no emulated run (transfer timers, refused submissions): a
    # fixed outcome.
    run_status: str | None = None


@attrs.frozen
class Resume:
    """One resume request: when, and whether it asked to update credentials."""

    time: datetime
    update_credentials: bool


@attrs.define(kw_only=True, eq=False)
class TimerRecord:
    """An emulated timer: what it runs, when, and what it has done so far."""

    job_id: str
    owner: str  # principal URN
    name: str | None
    timer_type: TimerType
    flow_id: str | None
    callback_url: str
    callback_body: dict[str, Any]
    scope: str | None
    schedule: Schedule
    schedule_document: dict[str, Any]
    submitted_at: datetime
    first_run: datetime  # the schedule's first moment, resolved at creation
    next_due: datetime | None  # None: no firing left
    paused: bool = False
    pause_reason: str = "user"  # why it is paused: user or globus_auth_requirements
    deleted_at: datetime | None = None
    results: list[TimerResult] = attrs.Factory(list)
    resumes: list[Resume] = attrs.Factory(list)
    # While a firing is retried: when its first attempt failed, and when the next is due.
    retrying_since: datetime | None = None
    retry_at: datetime | None = None

    @property
    def ended(self) -> bool:
        """Whether no firing is left."""
        return self.next_due is None

    @property
    def number_of_errors(self) -> int:
        """How many firings failed to submit."""
        return sum(1 for result in self.results if result.errors is not None)

    def deleted(self, now: datetime) -> bool:
        """Whether the deletion asked for has completed by ``now``."""
        return self.deleted_at is not None and now >= self.deleted_at + timedelta(
            seconds=DELETE_SECONDS
        )

    def status(self, now: datetime) -> str:
        """The job's ``status`` word at ``now``."""
        if self.deleted_at is not None:
            return "deleted" if self.deleted(now) else "delete_in_progress"
        if self.paused:
            return "inactive"
        if self.ended:
            return "ended"
        return "loaded" if self.results else "new"


def _first_due(schedule: Schedule, now: datetime) -> datetime | None:
    first = now if schedule.start is None or schedule.start < now else schedule.start
    if schedule.end is not None and first > schedule.end:
        return None
    return first


def _due(timer: TimerRecord, now: datetime) -> datetime | None:
    """When ``timer`` should fire next if that is by ``now`` and it may fire at all."""
    if timer.paused or timer.deleted_at is not None:
        return None
    due = timer.next_due if timer.retry_at is None else timer.retry_at
    return due if due is not None and due <= now else None


def _following(timer: TimerRecord, fired_at: datetime) -> datetime | None:
    """The firing after the one at ``fired_at`` (already recorded), if any is left."""
    schedule = timer.schedule
    if schedule.interval is None:
        return None
    if schedule.limit is not None and len(timer.results) >= schedule.limit:
        return None
    following = fired_at + timedelta(seconds=schedule.interval)
    if schedule.end is not None and following > schedule.end:
        return None
    return following


class TimersState:
    """All timers of one emulated Timers service, firing into ``flows``."""

    def __init__(self, flows: FlowsState) -> None:
        self.flows = flows
        self.timers: dict[str, TimerRecord] = {}
        self._seq = itertools.count()
        # Submission failures still to come: [timer id or None for any timer, how many].
        self._failures: list[list[Any]] = []

    # -- creating ------------------------------------------------------------------------

    def add_timer(
        self,
        *,
        owner: str,
        timer_type: TimerType,
        flow_id: str | None,
        callback_body: dict[str, Any],
        schedule: Schedule,
        schedule_document: dict[str, Any],
        name: str | None,
        now: datetime,
    ) -> TimerRecord:
        """Store a new timer for ``owner``; its flow need not exist."""
        if timer_type == "flow":
            if flow_id is None:
                raise ValueError("a flow timer needs a flow_id")
            callback_url = f"{FLOWS_CALLBACK_BASE}/flows/{flow_id}/run"
            scope: str | None = flow_scope(flow_id)
        else:
            callback_url, scope, flow_id = TRANSFER_CALLBACK_URL, None, None
        first = _first_due(schedule, now)
        if schedule_document.get("type") == "recurring" and schedule_document.get("start") is None:
            # The service fills in when a recurring schedule given no start starts: now.
            schedule_document = {**schedule_document, "start": format_time(now)}
        timer = TimerRecord(
            job_id=str(uuid.uuid4()),
            owner=owner,
            name=name,
            timer_type=timer_type,
            flow_id=flow_id,
            callback_url=callback_url,
            callback_body=callback_body,
            scope=scope,
            schedule=schedule,
            schedule_document=schedule_document,
            submitted_at=now,
            first_run=first or now,
            next_due=first,
        )
        self.timers[timer.job_id] = timer
        return timer

    def create_timer(self, caller: str, payload: Any, now: datetime) -> dict[str, Any]:
        """``POST /v2/timer``: the new timer as submitted (it fires on later reads), in the
        V2 shape (``body``, ``number_of_runs``, ``number_of_errors``) and with the job
        document's fields beside, which older clients read."""
        timer = self._create(caller, parse_timer(payload), now)
        document = self._job(timer, now)
        document["body"] = timer.callback_body
        document["results"] = []
        return {"timer": document}

    def create_job(self, caller: str, payload: Any, now: datetime) -> dict[str, Any]:
        """``POST /jobs/``: the older way to create a timer; answers the job document."""
        timer = self._create(caller, parse_job(payload, self.flows.flows), now)
        return self._job_with_results(timer, now, RESULTS_PAGE_DEFAULT, None)

    def _create(self, caller: str, request: TimerRequest, now: datetime) -> TimerRecord:
        if request.flow_id is not None and request.flow_id not in self.flows.flows:
            raise unprocessable(
                ["body", "timer", "flow_id"],
                f"no flow with id {request.flow_id} exists",
                "value_error.flow_not_found",
            )
        return self.add_timer(
            owner=caller,
            timer_type=request.timer_type,
            flow_id=request.flow_id,
            callback_body=request.callback_body,
            schedule=request.schedule,
            schedule_document=request.schedule_document,
            name=request.name,
            now=now,
        )

    # -- firing --------------------------------------------------------------------------

    def catch_up(self, now: datetime) -> int:
        """Bring every timer up to ``now``: carry out every firing due; returns how many
        firings there were."""
        # In time order across timers, so the runs they start are numbered in that order.
        due = [
            (when, timer.job_id)
            for timer in self.timers.values()
            if (when := _due(timer, now)) is not None
        ]
        heapq.heapify(due)
        fired = 0
        while due:
            when, job_id = heapq.heappop(due)
            timer = self.timers[job_id]
            self._fire(timer, when)
            fired += 1
            following = _due(timer, now)
            if following is not None:
                heapq.heappush(due, (following, job_id))
        return fired

    def fail_submissions(self, count: int, timer_id: str | None) -> None:
        """Make the next ``count`` attempts to start a flow, by ``timer_id`` (or by any
        flow timer), fail as production retries them (see the module's description)."""
        if count < 1:
            raise ValueError(f"count must be at least 1, not {count!r}")
        self._failures.append([timer_id, count])

    def _fails(self, timer: TimerRecord) -> bool:
        """Whether this attempt of ``timer`` to start its flow fails (and is retried)."""
        for failure in self._failures:
            if failure[0] is None or failure[0] == timer.job_id:
                failure[1] -= 1
                if failure[1] == 0:
                    self._failures.remove(failure)
                return True
        return False

    def _fire(self, timer: TimerRecord, when: datetime) -> None:
        """Carry out the attempt due at ``when`` (a scheduled firing, or a retry of one)."""
        if timer.flow_id is not None and self._fails(timer):
            if timer.retrying_since is None:
                timer.retrying_since = when
            timer.retry_at = when + timedelta(seconds=RETRY_SECONDS)
            return
        scheduled = timer.next_due or when
        seq = next(self._seq)
        if timer.flow_id is not None:
            result = self._submit_flow_run(timer, timer.flow_id, seq, when)
        else:
            result = _transfer_result(seq, when)
        timer.results.append(result)
        timer.retrying_since = timer.retry_at = None
        following = _following(timer, scheduled)
        if following is not None and following <= when:
            # The moments that passed while retrying: this firing stood for them.
            following = _on_schedule(timer, following, when, after=True)
        timer.next_due = following

    def _submit_flow_run(
        self, timer: TimerRecord, flow_id: str, seq: int, when: datetime
    ) -> TimerResult:
        try:
            document = self.flows.start_run(timer.owner, flow_id, timer.callback_body, when)
        except ApiError as err:
            error: dict[str, Any] = {"code": err.code, "detail": err.detail}
            if err.message is not None:
                error["message"] = err.message
            return TimerResult(
                seq=seq,
                ran_at=when,
                status=err.status,
                data=None,
                errors={"error": error, "debug_id": str(uuid.uuid4())},
                run_status="FAILED",
            )
        run_id = document["run_id"]
        return TimerResult(
            seq=seq,
            ran_at=when,
            status=201,
            data=document,
            resource_id=run_id,
            run=self.flows.runs[run_id],
        )

    # -- reading ---------------------------------------------------------------------------

    def _owned(self, caller: str, now: datetime) -> Iterator[TimerRecord]:
        self.catch_up(now)
        return (timer for timer in self.timers.values() if timer.owner == caller)

    def visible_timer(self, caller: str, job_id: str, now: datetime) -> TimerRecord:
        """The timer ``job_id``, brought up to ``now``, if ``caller`` owns it; 404 otherwise."""
        self.catch_up(now)
        timer = self.timers.get(job_id)
        if timer is None or timer.owner != caller:
            raise ApiError(404, "NOT_FOUND", f"Unable to find job with id: {job_id}")
        return timer

    def job_document(self, job_id: str, now: datetime) -> dict[str, Any]:
        """The timer ``job_id`` as its owner sees it at ``now``; `KeyError` if unknown."""
        self.catch_up(now)
        return self._job_with_results(self.timers[job_id], now, RESULTS_PAGE_DEFAULT, None)

    def list_timers(self, caller: str, params: QueryParams, now: datetime) -> dict[str, Any]:
        """``GET /jobs/``: the caller's timers that are not deleted, oldest first unless
        ``order`` says otherwise, each with its latest ``result_count`` results (not paged).
        """
        query = _parse_list_query(params)
        jobs = []
        for timer in self._owned(caller, now):
            if timer.deleted(now) or not query.matches(timer, now):
                continue
            jobs.append(timer)
        if query.order is not None:
            field, descending = query.order
            present = [t for t in jobs if _order_value(t, field, now) is not None]
            absent = [t for t in jobs if _order_value(t, field, now) is None]
            present.sort(key=lambda t: _order_value(t, field, now), reverse=descending)
            jobs = present + absent
        return {
            "jobs": [self._job_with_results(timer, now, query.result_count, None) for timer in jobs]
        }

    def get_timer(
        self, caller: str, job_id: str, params: QueryParams, now: datetime
    ) -> dict[str, Any]:
        """``GET /jobs/{job_id}``: the timer with one page of its results."""
        token = params.text("results_pt")
        size: int | None = None
        if params.text("page_size") is not None:
            size = params.integer("page_size", RESULTS_PAGE_DEFAULT, 1, RESULTS_PAGE_MAX)
        before: int | None = None
        if token is not None:
            token_size, before = _read_results_token(token, job_id)
            size = size or token_size
        timer = self.visible_timer(caller, job_id, now)
        return self._job_with_results(timer, now, size or RESULTS_PAGE_DEFAULT, before)

    # -- changing ----------------------------------------------------------------------------

    def rename(self, caller: str, job_id: str, payload: Any, now: datetime) -> dict[str, Any]:
        """``PATCH /jobs/{job_id}``: only ``name`` can change."""
        name = parse_rename(payload)
        timer = self.visible_timer(caller, job_id, now)
        if name is not None:
            timer.name = name
        return self._job_with_results(timer, now, RESULTS_PAGE_DEFAULT, None)

    def pause(self, caller: str, job_id: str, now: datetime) -> dict[str, Any]:
        """``POST /jobs/{job_id}/pause``: stop firing until resumed."""
        timer = self._changeable(caller, job_id, now, "pause")
        timer.paused = True
        timer.pause_reason = "user"
        timer.retrying_since = timer.retry_at = None
        return {"message": f"Successfully paused job {job_id}."}

    def resume(
        self, caller: str, job_id: str, update_credentials: bool, now: datetime
    ) -> dict[str, Any]:
        """``POST /jobs/{job_id}/resume``: fire again, from now on."""
        timer = self._changeable(caller, job_id, now, "resume")
        timer.resumes.append(Resume(now, update_credentials))
        if timer.paused:
            timer.paused = False
            timer.next_due = _after_pause(timer, now)
        return {"message": f"Successfully resumed job {job_id}."}

    def delete(self, caller: str, job_id: str, now: datetime) -> dict[str, Any]:
        """``DELETE /jobs/{job_id}``: stop firing; the timer is gone `DELETE_SECONDS` later."""
        timer = self.visible_timer(caller, job_id, now)
        if timer.deleted_at is None:
            timer.deleted_at = now
        return self._job_with_results(timer, now, RESULTS_PAGE_DEFAULT, None)

    def _changeable(self, caller: str, job_id: str, now: datetime, verb: str) -> TimerRecord:
        timer = self.visible_timer(caller, job_id, now)
        status = timer.status(now)
        if status in ("ended", "delete_in_progress", "deleted"):
            raise ApiError(409, "CONFLICT", f"Cannot {verb} job {job_id} with status '{status}'")
        return timer

    # -- documents -----------------------------------------------------------------------------

    def _job(self, timer: TimerRecord, now: datetime) -> dict[str, Any]:
        """The job document of ``timer`` at ``now``, without ``results``."""
        schedule = timer.schedule
        paused = timer.paused and timer.deleted_at is None
        active = not timer.paused and timer.deleted_at is None
        runs = len(timer.results)
        errors = timer.number_of_errors
        return {
            "job_id": timer.job_id,
            "name": timer.name,
            "timer_type": timer.timer_type,
            "flow_id": timer.flow_id,
            "callback_url": timer.callback_url,
            "callback_body": timer.callback_body,
            "scope": timer.scope,
            "schedule": timer.schedule_document,
            "start": format_time(timer.first_run),
            "interval": schedule.interval,
            "stop_after": {
                "date": None if schedule.end is None else format_time(schedule.end),
                "n_runs": schedule.limit,
            },
            "status": timer.status(now),
            "inactive_reason": {"cause": timer.pause_reason, "detail": None} if paused else None,
            "submitted_at": format_time(timer.submitted_at),
            "last_ran_at": format_time(timer.results[-1].ran_at) if timer.results else None,
            "next_run": (
                format_time(timer.next_due) if active and timer.next_due is not None else None
            ),
            "number_of_runs": runs,
            "number_of_errors": errors,
            "n_runs": runs,
            "n_errors": errors,
            "activity": _activity(timer, now),
        }

    def _job_with_results(
        self, timer: TimerRecord, now: datetime, size: int, before: int | None
    ) -> dict[str, Any]:
        newest_first = [r for r in reversed(timer.results) if before is None or r.seq < before]
        page = newest_first[:size]
        page_next = None
        if len(newest_first) > size:
            page_next = encode_marker(
                _RESULTS_MARKER_KIND,
                {"job_id": timer.job_id, "size": size, "before": page[-1].seq},
            )
        document = self._job(timer, now)
        document["results"] = {
            "data": [_result_document(result, now) for result in page],
            "page_next": page_next,
        }
        return document


def _after_pause(timer: TimerRecord, now: datetime) -> datetime | None:
    """The next firing of a timer resumed at ``now``, skipping those missed while paused."""
    due = timer.next_due
    schedule = timer.schedule
    if due is None or due >= now:
        return due
    if schedule.interval is None:
        return now
    return _on_schedule(timer, due, now, after=False)


def _on_schedule(
    timer: TimerRecord, due: datetime, moment: datetime, *, after: bool
) -> datetime | None:
    """The first moment of ``timer``'s recurring schedule from ``due`` on that is at
    ``moment`` or later (``after``: later), if the schedule has not ended by then."""
    schedule = timer.schedule
    assert schedule.interval is not None
    step = timedelta(seconds=schedule.interval)
    # The count of steps to take: past ``moment``, or up to it (a ceiling).
    missed = (moment - due) // step + 1 if after else -(-(moment - due) // step)
    due += step * missed
    if schedule.end is not None and due > schedule.end:
        return None
    return due


def _activity(timer: TimerRecord, now: datetime) -> dict[str, Any] | None:
    if timer.deleted_at is not None:
        return None
    if timer.paused:
        return {"code": "paused", "reason": timer.pause_reason}
    if timer.retrying_since is not None:
        return {"code": "retrying", "start_timestamp": format_time(timer.retrying_since)}
    running = [result for result in timer.results if _in_progress(result, now)]
    if running:
        began = running[0].ran_at
        return {
            "code": "run_in_progress",
            "start_timestamp": format_time(began),
            "duration_seconds": (now - began).total_seconds(),
        }
    if timer.next_due is None:
        return None
    return {"code": "awaiting_next_run", "next_run": format_time(timer.next_due)}


def _in_progress(result: TimerResult, now: datetime) -> bool:
    return result.run is not None and run_state(result.run, now).status not in TERMINAL_STATUSES


def _result_document(result: TimerResult, now: datetime) -> dict[str, Any]:
    """One entry of a job's ``results``, with the run's status as of ``now``."""
    run_status = result.run_status
    # A firing with a fixed outcome ended at once; a refused one was never polled.
    end: datetime | None = result.ran_at if run_status is not None else None
    polled: int | None = 200 if run_status is not None and result.errors is None else None
    if result.run is not None:
        state = run_state(result.run, now)
        run_status, end, polled = state.status, state.completion_time, 200
    return {
        # The service writes ran_at without an offset (it is UTC).
        "ran_at": format_time(result.ran_at).removesuffix("+00:00"),
        "start_timestamp": format_time(result.ran_at),
        "end_timestamp": None if end is None else format_time(end),
        "run_status": run_status,
        "status": result.status,
        "http_status_submission": result.status,
        "http_status_polled": polled,
        "resource_id": result.resource_id,
        "data": result.data,
        "errors": result.errors,
    }


def _transfer_result(seq: int, when: datetime) -> TimerResult:
    """A transfer timer's firing: a Transfer action that succeeds at once."""
    action_id = secrets.token_urlsafe(9)
    moment = format_time(when)
    return TimerResult(
        seq=seq,
        ran_at=when,
        status=202,
        data={
            "action_id": action_id,
            "status": "SUCCEEDED",
            "display_status": "SUCCEEDED",
            "start_time": moment,
            "completion_time": moment,
            "details": {"type": "TRANSFER", "status": "SUCCEEDED"},
        },
        resource_id=action_id,
        run_status="SUCCEEDED",
    )


def _status_filter(words: Iterable[str]) -> frozenset[str] | None:
    words = tuple(words)
    if not words:
        return None
    unknown = [word for word in words if word not in TIMER_STATUS_FILTERS]
    if unknown:
        raise unprocessable(
            ["query", "filter_status"],
            "unexpected value; permitted: " + ", ".join(f"'{w}'" for w in TIMER_STATUS_FILTERS),
            "type_error.enum",
        )
    return frozenset().union(*(TIMER_STATUS_FILTERS[word] for word in words))


def _read_results_token(token: str, job_id: str) -> tuple[int, int]:
    state = decode_marker(_RESULTS_MARKER_KIND, token)
    size, before = state.get("size"), state.get("before")
    if (
        state.get("job_id") != job_id
        or not isinstance(size, int)
        or not 1 <= size <= RESULTS_PAGE_MAX
        or not isinstance(before, int)
    ):
        raise bad_request("Invalid results_pt")
    return size, before


# What ``order`` of ``GET /jobs/`` may sort on.
_ORDER_FIELDS = (
    "job_id",
    "name",
    "status",
    "submitted_at",
    "last_ran_at",
    "next_run",
    "number_of_runs",
    "number_of_errors",
)


@attrs.frozen
class _ListQuery:
    """What a ``GET /jobs/`` asks for."""

    statuses: frozenset[str] | None
    name: str | None
    submitted_after: datetime | None
    submitted_before: datetime | None
    order: tuple[str, bool] | None
    result_count: int

    def matches(self, timer: TimerRecord, now: datetime) -> bool:
        name = self.name
        return (
            (self.statuses is None or timer.status(now) in self.statuses)
            and (name is None or (timer.name is not None and name.lower() in timer.name.lower()))
            and (self.submitted_after is None or timer.submitted_at > self.submitted_after)
            and (self.submitted_before is None or timer.submitted_at < self.submitted_before)
        )


def _moment(params: QueryParams, name: str) -> datetime | None:
    value = params.text(name)
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError:
        raise unprocessable(
            ["query", name], "invalid datetime format", "value_error.datetime"
        ) from None


def _order(params: QueryParams) -> tuple[str, bool] | None:
    value = params.text("order")
    if value is None:
        return None
    words = value.split()
    direction = words[1].lower() if len(words) == 2 else "asc"
    if (
        not 1 <= len(words) <= 2
        or words[0] not in _ORDER_FIELDS
        or direction not in ("asc", "desc")
    ):
        raise unprocessable(
            ["query", "order"],
            f"expected 'FIELD [asc|desc]' with FIELD one of {', '.join(_ORDER_FIELDS)}",
            "value_error.order",
        )
    return words[0], direction == "desc"


def _parse_list_query(params: QueryParams) -> _ListQuery:
    words = list(params.words("filter_status"))
    # The older flags, as the service still reads them.
    if params.boolean("filter_active", False):
        words.append("active")
    if params.boolean("filter_stopped", False):
        words.append("ended")
    return _ListQuery(
        statuses=_status_filter(words),
        name=params.text("filter_name"),
        submitted_after=_moment(params, "submitted_after"),
        submitted_before=_moment(params, "submitted_before"),
        order=_order(params),
        result_count=params.integer("result_count", RESULTS_PAGE_DEFAULT, 1, RESULTS_PAGE_MAX),
    )


def _order_value(timer: TimerRecord, field: str, now: datetime) -> Any:
    values = {
        "job_id": timer.job_id,
        "name": timer.name,
        "status": timer.status(now),
        "submitted_at": timer.submitted_at,
        "last_ran_at": timer.results[-1].ran_at if timer.results else None,
        "next_run": timer.next_due,
        "number_of_runs": len(timer.results),
        "number_of_errors": timer.number_of_errors,
    }
    return values[field]
