"""Plain data returned by the clients. How they map to JSON lives in ``_converter``."""

from __future__ import annotations

import reprlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Generic, TypeVar, cast

import attrs

from ._consent import InactiveReason, parse_inactive_reason
from ._web_input_models import WebInput

__all__ = [
    "BatchResult",
    "Run",
    "RunDefinition",
    "RunError",
    "RunLogEntry",
    "RunLogPage",
    "RunPage",
    "RunEvent",
    "RunLogEvent",
    "RunNeedsConsentEvent",
    "RunWaitingForInputEvent",
    "RunRequest",
    "RunStatus",
    "RunStatusEvent",
    "Timer",
    "TimerRun",
    "TimerRunError",
    "TimerRunPage",
    "TimerRunStatus",
    "RunResult",
]

T = TypeVar("T")


class RunStatus:
    """The statuses Flows reports. ``Run.status`` stays a plain ``str`` so new ones still parse."""

    ACTIVE: Final = "ACTIVE"
    INACTIVE: Final = "INACTIVE"
    SUCCEEDED: Final = "SUCCEEDED"
    FAILED: Final = "FAILED"
    ENDED: Final = "ENDED"

    TERMINAL: Final = frozenset({SUCCEEDED, FAILED, ENDED})
    ALL: Final = frozenset({ACTIVE, INACTIVE, SUCCEEDED, FAILED, ENDED})


@attrs.frozen
class RunError:
    """Why a run failed: its ``details.code`` and ``details.description``."""

    code: str
    description: str


def _raw() -> dict[str, Any]:
    return {}


# Documents from the service may nest deeply (``details`` of an INACTIVE run, 1,000 levels):
# past what ``repr`` can recurse into, they are shown cut at a few levels instead.
_SHALLOW = reprlib.Repr()
_SHALLOW.maxlevel = 6
_SHALLOW.maxdict = _SHALLOW.maxlist = _SHALLOW.maxtuple = 20
_SHALLOW.maxstring = _SHALLOW.maxother = 200
_SHALLOW.maxlong = 200


def _json_repr(value: object) -> str:
    """``repr(value)``, or a repr cut at a few levels when the value nests too deeply."""
    try:
        return repr(value)
    except RecursionError:
        return _SHALLOW.repr(value)


@attrs.frozen
class Run:
    """One flow run, as ``GET /runs/{run_id}`` describes it.

    ``raw`` holds the whole JSON document, for fields the model does not name.

    Example::

        run = await flows.get_run(run_id)
        if run.is_terminal and run.error:
            print(run.error.code, run.error.description)
    """

    run_id: str
    flow_id: str
    status: str
    flow_title: str | None = None
    display_status: str | None = None
    label: str | None = None
    tags: list[str] = attrs.field(factory=list)
    start_time: datetime | None = None
    completion_time: datetime | None = None
    run_owner: str | None = None
    run_managers: list[str] = attrs.field(factory=list)
    run_monitors: list[str] = attrs.field(factory=list)
    user_role: str | None = None
    details: dict[str, Any] | None = attrs.field(default=None, repr=_json_repr)
    flow_description: dict[str, Any] | None = attrs.field(default=None, repr=_json_repr)
    raw: dict[str, Any] = attrs.field(factory=_raw, repr=False, eq=False)
    #: The web input the run waits for (a person must respond), ``None`` otherwise.
    blocking_web_input_id: str | None = None

    @property
    def inactive_reason(self) -> InactiveReason | None:
        """Why an ``INACTIVE`` run is paused (code, scopes to consent to...); ``None`` otherwise."""
        if self.status != RunStatus.INACTIVE:
            return None
        return parse_inactive_reason(self.details)

    @property
    def is_terminal(self) -> bool:
        """True once the run is ``SUCCEEDED``, ``FAILED`` or ``ENDED``; it will not change again."""
        return self.status in RunStatus.TERMINAL

    @property
    def was_canceled(self) -> bool:
        """True when the run ended because it was canceled (``details.code == "FlowCanceled"``)."""
        return self.is_terminal and self._details_str("code") == "FlowCanceled"

    @property
    def error(self) -> RunError | None:
        """The failure of a ``FAILED`` or ``ENDED`` run, ``None`` for any other run."""
        if self.status not in (RunStatus.FAILED, RunStatus.ENDED):
            return None
        code = self._details_str("code")
        if code is None:
            return None
        return RunError(code=code, description=self._details_str("description") or "")

    def _details_str(self, key: str) -> str | None:
        value = self.details.get(key) if self.details else None
        return value if isinstance(value, str) else None


@attrs.frozen
class RunPage:
    """One page of ``GET /runs``; pass ``marker`` back to get the next one."""

    runs: list[Run]
    has_next_page: bool = False
    marker: str | None = None
    raw: dict[str, Any] = attrs.field(factory=_raw, repr=False, eq=False)


@attrs.frozen
class RunLogEntry:
    """One event of a run's log (``FlowStarted``, ``ActionCompleted``, ``FlowSucceeded``...)."""

    time: datetime
    code: str
    description: str = ""
    details: dict[str, Any] | None = attrs.field(default=None, repr=_json_repr)
    raw: dict[str, Any] = attrs.field(factory=_raw, repr=False, eq=False)


@attrs.frozen
class RunLogPage:
    """One page of ``GET /runs/{run_id}/log``."""

    entries: list[RunLogEntry]
    has_next_page: bool = False
    marker: str | None = None
    limit: int | None = None
    raw: dict[str, Any] = attrs.field(factory=_raw, repr=False, eq=False)


@attrs.frozen
class RunDefinition:
    """The flow definition and input schema a run was started with."""

    flow_id: str
    definition: dict[str, Any] = attrs.field(repr=_json_repr)
    input_schema: dict[str, Any] | None = attrs.field(default=None, repr=_json_repr)
    raw: dict[str, Any] = attrs.field(factory=_raw, repr=False, eq=False)


@attrs.frozen
class RunStatusEvent:
    """``watch_run`` saw the run in a new status (``previous`` is ``None`` on the first look)."""

    run: Run
    previous: str | None

    @property
    def status(self) -> str:
        """The run's new status."""
        return self.run.status


@attrs.frozen
class RunLogEvent:
    """``watch_run`` saw a new entry in the run's log."""

    run_id: str
    entry: RunLogEntry


@attrs.frozen
class RunWaitingForInputEvent:
    """``watch_run`` saw the run start waiting for a person to answer a web input.

    ``web_input`` is the input, or ``None`` when the caller may not read it.
    """

    run: Run
    web_input_id: str
    web_input: WebInput | None = None

    @property
    def title(self) -> str | None:
        """The question's title, when the input could be read."""
        return self.web_input.title if self.web_input is not None else None


@attrs.frozen
class RunNeedsConsentEvent:
    """``watch_run`` saw the run go ``INACTIVE`` until a person consents (or signs in again)."""

    run: Run
    reason: InactiveReason

    @property
    def required_scopes(self) -> tuple[str, ...]:
        """The scopes to consent to."""
        return self.reason.required_scopes


RunEvent = RunStatusEvent | RunLogEvent | RunWaitingForInputEvent | RunNeedsConsentEvent


def _as_list(value: Sequence[str] | None) -> list[str] | None:
    return None if value is None else list(value)


@attrs.frozen
class RunRequest:
    """One run to start in a batch: the arguments of ``FlowsClient.run_flow``."""

    flow_id: str
    body: Mapping[str, Any] = attrs.field(repr=_json_repr)
    label: str | None = None
    tags: list[str] | None = attrs.field(default=None, converter=_as_list)
    run_monitors: list[str] | None = attrs.field(default=None, converter=_as_list)
    run_managers: list[str] | None = attrs.field(default=None, converter=_as_list)
    activity_notification_policy: Mapping[str, Any] | Sequence[str] | None = attrs.field(
        default=None, repr=_json_repr
    )


@attrs.frozen
class BatchResult(Generic[T]):
    """The outcome of one item of a batch: ``value`` on success, ``error`` on failure.

    Example::

        for result in await flows.batch_get_runs(run_ids):
            if result.ok:
                print(result.value.status)
            else:
                print(result.input, "failed:", result.error)
    """

    index: int
    input: Any = attrs.field(repr=_json_repr)
    value: T | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """True when the item succeeded."""
        return self.error is None

    def unwrap(self) -> T:
        """Return the value, or raise the item's error.

        Example::

            runs = [result.unwrap() for result in results if result.ok]
        """
        if self.error is not None:
            raise self.error
        return cast(T, self.value)


class TimerRunStatus:
    """The statuses a timer's run can have, derived from its result (see ``TimerRun``)."""

    PENDING: Final = "pending"
    IN_PROGRESS: Final = "in_progress"
    SUCCESS: Final = "success"
    FAILURE: Final = "failure"

    ALL: Final = frozenset({PENDING, IN_PROGRESS, SUCCESS, FAILURE})


@attrs.frozen
class Timer:
    """A timer (a Timers "job"): what it runs, on which schedule, and how it has fared.

    ``number_of_runs`` and ``number_of_errors`` come from the v2 or the v1 field names;
    ``flow_id`` is read from the callback URL when the document does not name it.

    ``start``, ``interval`` (seconds, ``None`` for a timer that runs once) and ``stop_after``
    (``{"date", "n_runs"}``) are the v1 fields, or are read from ``schedule`` in a v2
    document. ``body`` is what each run submits: the v2 ``body`` (for a flow timer
    ``{"body", "run_managers"?, "run_monitors"?, "tags"?}``, for a transfer timer the transfer
    document), or the same read from a v1 document's ``callback_body``. ``scope`` is the scope
    the timer runs with (v1 documents only).
    """

    timer_id: str
    name: str | None = None
    timer_type: str | None = None
    flow_id: str | None = None
    status: str | None = None
    schedule: dict[str, Any] | None = attrs.field(default=None, repr=_json_repr)
    callback_url: str | None = None
    callback_body: dict[str, Any] | None = attrs.field(default=None, repr=_json_repr)
    submitted_at: datetime | None = None
    last_ran_at: datetime | None = None
    next_run: datetime | None = None
    number_of_runs: int = 0
    number_of_errors: int = 0
    inactive_reason: dict[str, Any] | None = attrs.field(default=None, repr=_json_repr)
    activity: dict[str, Any] | None = attrs.field(default=None, repr=_json_repr)
    raw: dict[str, Any] = attrs.field(factory=_raw, repr=False, eq=False)
    start: datetime | None = None
    interval: float | None = None
    stop_after: dict[str, Any] | None = attrs.field(default=None, repr=_json_repr)
    scope: str | None = None
    body: dict[str, Any] | None = attrs.field(default=None, repr=_json_repr)


@attrs.frozen
class TimerRunError:
    """Why a timer's run failed (the submission's or the run's error)."""

    code: str
    message: str
    detail: Any = attrs.field(default=None, repr=_json_repr)


@attrs.frozen
class RunResult:
    """What a timer's run produced: ``status`` is the run's own status (``"SUCCEEDED"``...),
    ``status_code`` the HTTP status of its submission, ``run_id`` the run (or task) started."""

    status: str | None = None
    status_code: int | None = None
    run_id: str | None = None
    error: TimerRunError | None = None


@attrs.frozen
class TimerRun:
    """One run of a timer: one entry of its ``results``.

    ``id`` is the run (or task) it started, exactly as the service names it: a flow run's
    UUID, or a transfer task's id such as ``"15jfdBESgveZQ"`` (``None`` when the submission
    itself failed). ``status`` is one of :class:`TimerRunStatus`. ``ran_at`` is when the timer
    fired; ``last_check_timestamp`` and ``next_check_timestamp`` when the service last looked
    at the started run and when it will look again; ``http_status_polled`` the HTTP status of
    that last look.
    """

    id: str | None
    timer_id: str
    status: str
    start_time: datetime | None = None
    end_time: datetime | None = None
    result: RunResult = attrs.field(factory=RunResult)
    raw: dict[str, Any] = attrs.field(factory=_raw, repr=False, eq=False)
    ran_at: datetime | None = None
    next_check_timestamp: datetime | None = None
    last_check_timestamp: datetime | None = None
    http_status_polled: int | None = None


@attrs.frozen
class TimerRunPage:
    """One page of a timer's runs; pass ``marker`` back for the next one."""

    runs: list[TimerRun]
    has_next_page: bool = False
    marker: str | None = None
