"""A run's log, status and details, derived from its record and the clock.

Every run has a planned sequence of log entries (FlowStarted, a Started and a
Completed entry per step, then FlowSucceeded / FlowFailed / FlowEnded), each
with the time it happens. Going INACTIVE, a resume and a cancel reshape the
plan. At any moment the log is the planned entries whose time has come, and
the run's status and details are those of its latest visible entry.
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta
from typing import Any

import attrs

from ._auth import flow_scope
from ._records import RunRecord
from ._wire import format_time

TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "ENDED"})

_CANCELED_DESCRIPTION = "The Flow Instance was canceled by the user"


@attrs.frozen
class LogEntry:
    """One entry of a run's log, with the run status it leaves behind."""

    time: datetime
    code: str
    description: str
    details: dict[str, Any]
    status: str  # the run's status while this is its latest entry
    run_details: dict[str, Any]  # the run's ``details`` while this is its latest entry

    def to_json(self) -> dict[str, Any]:
        """The entry as ``GET /runs/{id}/log`` shows it."""
        return {
            "time": format_time(self.time),
            "code": self.code,
            "description": self.description,
            "details": self.details,
        }


@attrs.frozen
class RunState:
    """A run's status at one moment."""

    status: str
    details: dict[str, Any] | None
    completion_time: datetime | None
    blocking_web_input_id: str | None = None


@attrs.frozen
class _Planned:
    """A log entry whose place is known in run progress, not yet in time."""

    progress: float  # seconds of active running after the start
    code: str
    description: str
    details: dict[str, Any]
    status: str = "ACTIVE"
    run_details: dict[str, Any] | None = None  # default: the entry itself


def _entry(planned: _Planned, time: datetime) -> LogEntry:
    run_details = planned.run_details
    if run_details is None:
        run_details = {
            "code": planned.code,
            "description": planned.description,
            "details": planned.details,
        }
    return LogEntry(
        time=time,
        code=planned.code,
        description=planned.description,
        details=planned.details,
        status=planned.status,
        run_details={**run_details, "time": format_time(time)},
    )


def _step_name(index: int) -> str:
    return f"Step{index + 1}"


def _progress_plan(run: RunRecord) -> list[_Planned]:
    """The run's entries in order, placed by progress, ignoring pauses and cancels."""
    behavior = run.behavior
    duration, steps, kind = behavior.duration, behavior.steps, behavior.step_type
    failing = behavior.outcome != "SUCCEEDED"
    plan = [
        _Planned(0.0, "FlowStarted", "The Flow Instance started execution", {"input": run.body})
    ]
    output: dict[str, Any] = dict(run.body)
    for index in range(steps):
        name = _step_name(index)
        state = {"state_name": name, "state_type": kind}
        plan.append(
            _Planned(
                duration * index / steps,
                f"{kind}Started",
                f"State {name} of type {kind} started",
                {**state, "input": run.body},
            )
        )
        end = duration * (index + 1) / steps
        if failing and index == steps - 1:
            error = {
                "code": behavior.failure_code,
                "description": behavior.failure_description,
            }
            plan.append(
                _Planned(
                    end,
                    f"{kind}Failed",
                    f"State {name} of type {kind} failed",
                    {**state, "error": error},
                )
            )
            break
        result: dict[str, Any] = (
            {"action_id": f"{run.run_id[:8]}-{index + 1}", "status": "SUCCEEDED"}
            if kind == "Action"
            else dict(run.body)
        )
        output[f"{name}Result"] = result
        plan.append(
            _Planned(
                end,
                f"{kind}Completed",
                f"State {name} of type {kind} completed",
                {**state, "output": result},
            )
        )
    plan.append(_final(run, output))
    return plan


def _final(run: RunRecord, output: dict[str, Any]) -> _Planned:
    behavior = run.behavior
    if behavior.outcome == "SUCCEEDED":
        return _Planned(
            behavior.duration,
            "FlowSucceeded",
            "The Flow Instance completed successfully",
            {"output": output},
            status="SUCCEEDED",
            run_details={
                "code": "FlowSucceeded",
                "description": "The Flow run reached a successful completion state",
                "output": output,
            },
        )
    failure = {
        "code": behavior.failure_code,
        "description": behavior.failure_description,
    }
    where = {"state_name": _step_name(behavior.steps - 1)} if behavior.steps else {}
    code, description = (
        ("FlowFailed", "The Flow Instance failed")
        if behavior.outcome == "FAILED"
        else ("FlowEnded", "The Flow Instance ended")
    )
    return _Planned(
        behavior.duration,
        code,
        description,
        failure,
        status=behavior.outcome,
        run_details={**failure, "details": where},
    )


def _inactive(run: RunRecord, progress: float) -> _Planned:
    behavior = run.behavior
    code = behavior.inactive_code
    scope = flow_scope(run.flow.flow_id)
    details: dict[str, Any] = {
        "code": code,
        "authorization_parameters": {
            "session_message": "The run needs your consent to continue.",
            "required_scopes": [scope],
        },
        "required_scope": scope,
    }
    if behavior.steps:
        step = min(int(progress * behavior.steps / behavior.duration), behavior.steps - 1)
        details["state_name"] = _step_name(step)
    description = (
        "The Flow run requires consent to continue"
        if code == "ConsentRequired"
        else f"The Flow run is inactive ({code})"
    )
    return _Planned(
        progress,
        "FlowInactive",
        description,
        details,
        status="INACTIVE",
        run_details={
            "code": code,
            "description": description,
            # Production runs carry the requirements at the top of ``details``.
            "authorization_parameters": details["authorization_parameters"],
            "required_scope": scope,
            "details": details,
        },
    )


WEB_INPUT_WAITING = "WebInputWaiting"


def _waiting_for_input(run: RunRecord, progress: float) -> _Planned:
    description = f"The Flow run is waiting for a response to web input {run.web_input_id}"
    details = {"state_name": "WaitForInput", "state_type": "WebInput"}
    details["web_input_id"] = run.web_input_id or ""
    return _Planned(progress, WEB_INPUT_WAITING, description, details)


def _build(run: RunRecord) -> list[LogEntry]:
    plan = _progress_plan(run)
    start = run.start_time
    pause = run.behavior.inactive_after
    step = run.flow.web_input
    if step is not None and run.web_input_id is not None:
        pause = min(step.after, run.behavior.duration)
        split = next((i for i in range(1, len(plan)) if plan[i].progress >= pause), len(plan))
        entries = [_entry(p, start + timedelta(seconds=p.progress)) for p in plan[:split]]
        entries.append(_entry(_waiting_for_input(run, pause), start + timedelta(seconds=pause)))
        answered = run.answered_at
        if answered is not None:
            responded = _Planned(pause, "WebInputResponded", "A response was received", {})
            entries.append(_entry(responded, answered))
            entries.extend(
                _entry(p, answered + timedelta(seconds=p.progress - pause)) for p in plan[split:]
            )
    elif pause is None:
        entries = [_entry(p, start + timedelta(seconds=p.progress)) for p in plan]
    else:
        split = next((i for i in range(1, len(plan)) if plan[i].progress >= pause), len(plan))
        entries = [_entry(p, start + timedelta(seconds=p.progress)) for p in plan[:split]]
        entries.append(_entry(_inactive(run, pause), start + timedelta(seconds=pause)))
        resumed = run.resumed_at
        if resumed is not None:
            entries.append(
                _entry(
                    _Planned(pause, "FlowResumed", "The Flow Instance was resumed", {}),
                    resumed,
                )
            )
            entries.extend(
                _entry(p, resumed + timedelta(seconds=p.progress - pause)) for p in plan[split:]
            )
    canceled = run.canceled_at
    if canceled is not None:
        entries = [entry for entry in entries if entry.time <= canceled]
        canceled_entry = _Planned(0.0, "FlowCanceled", _CANCELED_DESCRIPTION, {}, status="FAILED")
        entries.append(_entry(canceled_entry, canceled))
    return entries


@attrs.frozen
class _Plan:
    key: tuple[datetime | None, ...]
    entries: list[LogEntry]
    times: list[datetime]


def _plan(run: RunRecord) -> _Plan:
    key = (run.resumed_at, run.canceled_at, run.answered_at)
    cached = run.plan_cache
    if isinstance(cached, _Plan) and cached.key == key:
        return cached
    entries = _build(run)
    plan = _Plan(key, entries, [entry.time for entry in entries])
    run.plan_cache = plan
    return plan


def visible_entries(run: RunRecord, now: datetime) -> list[LogEntry]:
    """The run's log as of ``now``: the entries whose time has come."""
    plan = _plan(run)
    return plan.entries[: bisect.bisect_right(plan.times, now)]


def run_state(run: RunRecord, now: datetime) -> RunState:
    """The run's status, details and completion time as of ``now``."""
    visible = visible_entries(run, now)
    if not visible:
        return RunState("ACTIVE", None, None)
    latest = visible[-1]
    completion = latest.time if latest.status in TERMINAL_STATUSES else None
    blocking = run.web_input_id if latest.code == WEB_INPUT_WAITING else None
    return RunState(latest.status, latest.run_details, completion, blocking)


# -- the same facts without building the log, for listing many runs ---------------------


def planned_end(run: RunRecord) -> tuple[datetime, str] | None:
    """When ``run`` ends and with which status if nothing more happens to it, or ``None``
    while it waits (INACTIVE until resumed, or for an answer to its web input).

    The time and status of the last entry `_build` plans, without building the log.
    """
    if run.canceled_at is not None:
        return run.canceled_at, "FAILED"
    behavior = run.behavior
    duration = timedelta(seconds=behavior.duration)
    step = run.flow.web_input
    if step is not None and run.web_input_id is not None:
        if run.answered_at is None:
            return None
        pause = timedelta(seconds=min(step.after, behavior.duration))
        return run.answered_at + duration - pause, behavior.outcome
    if behavior.inactive_after is None:
        return run.start_time + duration, behavior.outcome
    if run.resumed_at is None:
        return None
    return run.resumed_at + duration - timedelta(seconds=behavior.inactive_after), behavior.outcome


def may_pause(run: RunRecord) -> bool:
    """Whether ``run`` is ever INACTIVE (a run waiting for a web input stays ACTIVE)."""
    return run.behavior.inactive_after is not None and (
        run.flow.web_input is None or run.web_input_id is None
    )


def status_at(run: RunRecord, now: datetime) -> tuple[str, datetime | None]:
    """``run``'s status and completion time as of ``now``: those of `run_state`, without
    building the log."""
    end = planned_end(run)
    if end is not None and end[0] <= now:
        return end[1], end[0]
    pause = run.behavior.inactive_after
    paused = (
        pause is not None
        and may_pause(run)
        and run.start_time + timedelta(seconds=pause) <= now
        and (run.resumed_at is None or now < run.resumed_at)
    )
    return ("INACTIVE" if paused else "ACTIVE"), None
