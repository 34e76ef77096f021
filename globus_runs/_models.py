"""Plain data returned by the clients. How they map to JSON lives in ``_converter``."""

from __future__ import annotations

import reprlib
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Generic, TypeVar, cast

import attrs

from . import _run_document as doc
from ._consent import InactiveReason, parse_inactive_reason
from ._run_document import parse_datetime
from ._web_input_models import WebInput

__all__ = [
    "BatchResult",
    "FlowDescription",
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


class FlowDescription(dict[str, Any]):
    """The flow a run belongs to, as ``include_flow_description=True`` adds it to the run.

    It is the service's own object (a ``dict``, equal to the JSON it came from), with its
    fields named: ``id``, ``title``, ``subtitle``, ``description``, ``keywords``,
    ``flow_owner``, ``created_at``, ``updated_at``, ``deleted_at``, ``globus_auth_scope``.
    """

    __slots__ = ()

    def _text(self, key: str) -> str | None:
        value = self.get(key)
        return value if isinstance(value, str) else None

    def _time(self, key: str) -> datetime | None:
        value = self.get(key)
        return parse_datetime(value) if isinstance(value, str) else None

    @property
    def id(self) -> str | None:
        """The flow's id."""
        return self._text("id")

    @property
    def title(self) -> str | None:
        """The flow's title."""
        return self._text("title")

    @property
    def subtitle(self) -> str | None:
        """The flow's subtitle."""
        return self._text("subtitle")

    @property
    def description(self) -> str | None:
        """The flow's description."""
        return self._text("description")

    @property
    def keywords(self) -> list[str]:
        """The flow's keywords."""
        value = self.get("keywords")
        return list(value) if isinstance(value, list) else []

    @property
    def flow_owner(self) -> str | None:
        """The flow's owner (a principal URN)."""
        return self._text("flow_owner")

    @property
    def globus_auth_scope(self) -> str | None:
        """The scope that starts the flow's runs."""
        return self._text("globus_auth_scope")

    @property
    def created_at(self) -> datetime | None:
        """When the flow was created."""
        return self._time("created_at")

    @property
    def updated_at(self) -> datetime | None:
        """When the flow was last updated."""
        return self._time("updated_at")

    @property
    def deleted_at(self) -> datetime | None:
        """When the flow was deleted, if it was."""
        return self._time("deleted_at")


def _flow_description(value: Mapping[str, Any] | None) -> FlowDescription | None:
    if value is None or isinstance(value, FlowDescription):
        return value
    return FlowDescription(value)


# The fields of a Run but ``raw``, in constructor order: compared and shown in this order.
_FIELDS: Final = ("run_id", "flow_id", "status", *doc.LAZY_FIELDS)
_RAW_POSITION: Final = _FIELDS.index("blocking_web_input_id")
_JSON_REPR: Final = frozenset({"details", "flow_description"})
_DETAILS: Final = doc.LAZY_FIELDS.index("details")
_FLOW_DESCRIPTION: Final = doc.LAZY_FIELDS.index("flow_description")


class Run:
    """One flow run, as ``GET /runs/{run_id}`` describes it.

    ``raw`` holds the whole JSON document, for fields the model does not name.
    ``flow_description`` is set when the run was read with ``include_flow_description=True``.

    A run read from the service keeps only its document, as compact JSON (about its size on
    the wire), and its ``run_id``, ``flow_id`` and ``status``; the other fields are read from
    the document when asked for, and ``raw`` decodes it into a new ``dict`` each time. Runs
    are immutable and compare equal when all their fields but ``raw`` are equal.

    Example::

        run = await flows.get_run(run_id)
        if run.is_terminal and run.error:
            print(run.error.code, run.error.description)
    """

    __slots__ = ("_doc", "_flow_id", "_run_id", "_status", "_values")
    __match_args__ = (*_FIELDS[:_RAW_POSITION], "raw", *_FIELDS[_RAW_POSITION:])

    _run_id: str
    _flow_id: str
    _status: str
    # The fields after ``status``, as given to the constructor; ``None`` when they are read
    # from ``_doc`` (a run parsed from the service).
    _values: tuple[Any, ...] | None
    # The document: compact JSON bytes once parsed, or the ``raw`` mapping given.
    _doc: bytes | dict[str, Any]

    def __init__(
        self,
        run_id: str,
        flow_id: str,
        status: str,
        flow_title: str | None = None,
        display_status: str | None = None,
        label: str | None = None,
        tags: list[str] | None = None,
        start_time: datetime | None = None,
        completion_time: datetime | None = None,
        run_owner: str | None = None,
        run_managers: list[str] | None = None,
        run_monitors: list[str] | None = None,
        user_role: str | None = None,
        details: dict[str, Any] | None = None,
        flow_description: Mapping[str, Any] | None = None,
        raw: dict[str, Any] | None = None,
        blocking_web_input_id: str | None = None,
        flow_last_updated: datetime | None = None,
        user_roles: list[str] | None = None,
    ) -> None:
        values = (
            flow_title,
            display_status,
            label,
            [] if tags is None else tags,
            start_time,
            completion_time,
            run_owner,
            [] if run_managers is None else run_managers,
            [] if run_monitors is None else run_monitors,
            user_role,
            details,
            _flow_description(flow_description),
            blocking_web_input_id,
            flow_last_updated,
            [] if user_roles is None else user_roles,
        )
        _init(self, run_id, flow_id, status, values, {} if raw is None else raw)

    @classmethod
    def _from_document(cls, document: dict[str, Any]) -> Run:
        """A run from its document: every field checked now, only the document kept."""
        get = document.get
        run_id = get("run_id", doc.ABSENT)
        if run_id is doc.ABSENT:
            run_id = get("action_id", doc.ABSENT)  # older documents name it only so
        run_id = doc.str_field(run_id, "run_id")
        flow_id = doc.str_field(get("flow_id", doc.ABSENT), "flow_id")
        status = doc.str_field(get("status", doc.ABSENT), "status")
        for read in doc.READERS:
            read(document)
        run = object.__new__(cls)
        # Many runs share a flow and a status: one string for each, not one per run.
        _init(run, run_id, sys.intern(flow_id), sys.intern(status), None, doc.pack(document))
        return run

    def _field(self, index: int) -> Any:
        if self._values is not None:
            return self._values[index]
        return doc.READERS[index](doc.unpack(self._doc))

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self._run_id

    @property
    def flow_id(self) -> str:
        """The id of the run's flow."""
        return self._flow_id

    @property
    def status(self) -> str:
        """The run's status, a plain ``str`` (see :class:`RunStatus`)."""
        return self._status

    @property
    def raw(self) -> dict[str, Any]:
        """The whole JSON document, for fields the model does not name."""
        return doc.unpack(self._doc)

    @property
    def flow_title(self) -> str | None:
        """The title of the run's flow."""
        return cast("str | None", self._field(0))

    @property
    def display_status(self) -> str | None:
        """The status as the web app shows it."""
        return cast("str | None", self._field(1))

    @property
    def label(self) -> str | None:
        """The run's label."""
        return cast("str | None", self._field(2))

    @property
    def tags(self) -> list[str]:
        """The run's tags."""
        return cast("list[str]", self._field(3))

    @property
    def start_time(self) -> datetime | None:
        """When the run started."""
        return cast("datetime | None", self._field(4))

    @property
    def completion_time(self) -> datetime | None:
        """When the run ended (``None`` while it runs)."""
        return cast("datetime | None", self._field(5))

    @property
    def run_owner(self) -> str | None:
        """Who started the run (an identity URN)."""
        return cast("str | None", self._field(6))

    @property
    def run_managers(self) -> list[str]:
        """Who may manage the run (URNs)."""
        return cast("list[str]", self._field(7))

    @property
    def run_monitors(self) -> list[str]:
        """Who may monitor the run (URNs)."""
        return cast("list[str]", self._field(8))

    @property
    def user_role(self) -> str | None:
        """The caller's highest role on the run."""
        return cast("str | None", self._field(9))

    @property
    def details(self) -> dict[str, Any] | None:
        """The run's details: ``code``, ``description``, ``output``..."""
        return cast("dict[str, Any] | None", self._field(_DETAILS))

    @property
    def flow_description(self) -> FlowDescription | None:
        """The run's flow, when the run was read with ``include_flow_description=True``."""
        return _flow_description(self._field(_FLOW_DESCRIPTION))

    @property
    def blocking_web_input_id(self) -> str | None:
        """The web input the run waits for (a person must respond), ``None`` otherwise."""
        return cast("str | None", self._field(12))

    @property
    def flow_last_updated(self) -> datetime | None:
        """When the run's flow was last updated."""
        return cast("datetime | None", self._field(13))

    @property
    def user_roles(self) -> list[str]:
        """Every role the caller has on the run (``run_owner``, ``run_manager``...)."""
        return cast("list[str]", self._field(14))

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
        details = self.details
        code = _str_of(details, "code")
        if code is None:
            return None
        return RunError(code=code, description=_str_of(details, "description") or "")

    def _details_str(self, key: str) -> str | None:
        return _str_of(self.details, key)

    def _compared(self) -> tuple[Any, ...]:
        if self._values is not None:
            return (self.run_id, self.flow_id, self.status, *self._values)
        document = doc.unpack(self._doc)
        fields = [read(document) for read in doc.READERS]
        fields[_FLOW_DESCRIPTION] = _flow_description(fields[_FLOW_DESCRIPTION])
        return (self.run_id, self.flow_id, self.status, *fields)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Run)
        return self._compared() == other._compared()

    def __hash__(self) -> int:
        return hash((Run, *self._compared()))

    def __repr__(self) -> str:
        shown = (
            f"{name}={_json_repr(value) if name in _JSON_REPR else repr(value)}"
            for name, value in zip(_FIELDS, self._compared(), strict=True)
        )
        return f"Run({', '.join(shown)})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise attrs.exceptions.FrozenInstanceError()

    def __delattr__(self, name: str) -> None:
        raise attrs.exceptions.FrozenInstanceError()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore_run, (self.run_id, self.flow_id, self.status, self._values, self._doc))


def _init(
    run: Run,
    run_id: str,
    flow_id: str,
    status: str,
    values: tuple[Any, ...] | None,
    document: bytes | dict[str, Any],
) -> None:
    set_slot = object.__setattr__
    set_slot(run, "_run_id", run_id)
    set_slot(run, "_flow_id", flow_id)
    set_slot(run, "_status", status)
    set_slot(run, "_values", values)
    set_slot(run, "_doc", document)


def _restore_run(
    run_id: str,
    flow_id: str,
    status: str,
    values: tuple[Any, ...] | None,
    document: bytes | dict[str, Any],
) -> Run:
    run = object.__new__(Run)
    _init(run, run_id, flow_id, status, values, document)
    return run


def _str_of(details: dict[str, Any] | None, key: str) -> str | None:
    value = details.get(key) if details else None
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
