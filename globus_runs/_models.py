"""Plain data returned by the clients. How they map to JSON lives in ``_converter``."""

from __future__ import annotations

import reprlib
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar, cast

import attrs

from . import _run_document as doc
from ._run_document import parse_datetime

if TYPE_CHECKING:
    from ._consent import InactiveReason

__all__ = [
    "BatchResult",
    "FlowDescription",
    "Run",
    "RunDefinition",
    "RunError",
    "RunLogEntry",
    "RunLogPage",
    "RunPage",
    "RunRequest",
    "RunStatus",
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


def _str_list(value: list[str] | None) -> list[str]:
    return [] if value is None else value


def _raw_or_empty(value: dict[str, Any] | None) -> dict[str, Any]:
    return {} if value is None else value


@attrs.frozen(weakref_slot=False)
class Run:
    """One flow run, as ``GET /runs/{run_id}`` describes it.

    ``raw`` holds the whole JSON document, for fields the model does not name.
    ``flow_description`` is set when the run was read with ``include_flow_description=True``.

    ``Run`` is an attrs class: ``attrs.fields``, ``attrs.evolve`` and ``attrs.asdict`` see
    every field named here and ``raw``. Runs are immutable and compare equal when all their
    fields but ``raw`` are equal. A run read from the service keeps only its ``run_id``,
    ``flow_id``, ``status`` and its document, as compact JSON (about its size on the wire):
    the other fields are read from the document when asked for, and ``raw`` decodes it into
    a new ``dict`` each time. A run built by hand, or by ``attrs.evolve``, holds every value
    it was given, and ``raw`` is the very mapping given (``{}`` by default).

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
    tags: list[str] = attrs.field(factory=list, converter=_str_list)
    start_time: datetime | None = None
    completion_time: datetime | None = None
    run_owner: str | None = None
    run_managers: list[str] = attrs.field(factory=list, converter=_str_list)
    run_monitors: list[str] = attrs.field(factory=list, converter=_str_list)
    user_role: str | None = None
    details: dict[str, Any] | None = attrs.field(default=None, repr=_json_repr)
    flow_description: FlowDescription | None = attrs.field(
        default=None, converter=_flow_description, repr=_json_repr
    )
    raw: dict[str, Any] = attrs.field(factory=_raw, converter=_raw_or_empty, repr=False, eq=False)
    #: The web input the run waits for (a person must respond), ``None`` otherwise.
    blocking_web_input_id: str | None = None
    #: When the run's flow was last updated.
    flow_last_updated: datetime | None = None
    #: Every role the caller has on the run (``run_owner``, ``run_manager``...).
    user_roles: list[str] = attrs.field(factory=list, converter=_str_list)

    @property
    def inactive_reason(self) -> InactiveReason | None:
        """Why an ``INACTIVE`` run is paused (code, scopes to consent to...); ``None`` otherwise."""
        if self.status != RunStatus.INACTIVE:
            return None
        from ._consent import parse_inactive_reason  # imported on first use

        return parse_inactive_reason(self.details)

    @property
    def is_terminal(self) -> bool:
        """True once the run is ``SUCCEEDED``, ``FAILED`` or ``ENDED``; it will not change again."""
        return self.status in RunStatus.TERMINAL

    @property
    def was_canceled(self) -> bool:
        """True when the run ended because it was canceled (``details.code == "FlowCanceled"``)."""
        return self.is_terminal and _str_of(self.details, "code") == "FlowCanceled"

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

    def __reduce__(self) -> tuple[Any, ...]:
        # What the run holds, as it holds it: a parsed run pickles as its compact document.
        return (_restore_run, (_held(self),))


# attrs gives ``Run`` one slot per field. A parsed run fills only ``run_id``, ``flow_id``,
# ``status`` and ``raw`` (the compact document); the descriptors below stand in for the
# slots' own and read a field whose slot is empty from that document.
_SLOTS: Final[dict[str, Any]] = {
    field.name: Run.__dict__[field.name] for field in attrs.fields(Run)
}


class _Document:
    """``Run.raw``: the document, decoded from its compact JSON when kept so."""

    __slots__ = ()

    def __get__(self, run: Run | None, owner: type | None = None) -> Any:
        if run is None:
            return self
        return doc.unpack_run(_SLOTS["raw"].__get__(run, owner), run.run_id)

    def __set__(self, run: Run, value: Any) -> None:
        _SLOTS["raw"].__set__(run, value)

    def __delete__(self, run: Run) -> None:
        _SLOTS["raw"].__delete__(run)


class _FromDocument:
    """A field of ``Run``: the value its slot holds, or else the one its document gives."""

    __slots__ = ("_read", "_slot")

    def __init__(self, slot: Any, read: Callable[[dict[str, Any]], Any]) -> None:
        self._slot = slot
        self._read = read

    def __get__(self, run: Run | None, owner: type | None = None) -> Any:
        if run is None:
            return self
        try:
            return self._slot.__get__(run, owner)
        except AttributeError:  # an empty slot: a run parsed from the service
            return self._read(doc.unpack(_SLOTS["raw"].__get__(run, owner)))

    def __set__(self, run: Run, value: Any) -> None:
        self._slot.__set__(run, value)

    def __delete__(self, run: Run) -> None:
        self._slot.__delete__(run)


def _read_flow_description(
    read: Callable[[dict[str, Any]], Any],
) -> Callable[[dict[str, Any]], Any]:
    return lambda document: _flow_description(read(document))


_READERS: Final = dict(zip(doc.LAZY_FIELDS, doc.READERS, strict=True))
_READERS["flow_description"] = _read_flow_description(_READERS["flow_description"])
for _name, _read in _READERS.items():
    setattr(Run, _name, _FromDocument(_SLOTS[_name], _read))
Run.raw = _Document()  # type: ignore[assignment]
del _name, _read


def _held(run: Run) -> tuple[tuple[str, Any], ...]:
    """The (field, value) pairs ``run``'s slots hold, empty ones left out."""
    held = []
    for name, slot in _SLOTS.items():
        try:
            held.append((name, slot.__get__(run, Run)))
        except AttributeError:
            continue
    return tuple(held)


def _restore_run(held: tuple[tuple[str, Any], ...]) -> Run:
    run = object.__new__(Run)
    for name, value in held:
        _SLOTS[name].__set__(run, value)
    if all(type(value) is str or type(value) is bytes for _, value in held):
        _untrack(run)
    return run


def _untracker() -> Callable[[object], None]:
    """What takes an object out of the cyclic garbage collector's sight: CPython's
    ``PyObject_GC_UnTrack``, or nothing on another interpreter.

    A run read from the service holds only strings (its id, flow, status and compact
    document), so it can never be part of a reference cycle: the collector has nothing to
    find in it, as in a tuple of strings, which CPython stops tracking itself. Left
    tracked, every full collection walks each run a program holds, while holding the
    interpreter lock: a page of 100,000 runs triggers one as it is parsed, which stalls the
    event loop for tens of milliseconds even when the page is parsed in a worker thread.
    Untracked, they cost the collector nothing. A run made by hand or by ``attrs.evolve``
    (it may hold lists and dicts), or one whose document is kept as it is, stays tracked.
    """
    if sys.implementation.name != "cpython":
        return _ignore
    try:
        import ctypes

        untrack = ctypes.PYFUNCTYPE(None, ctypes.py_object)(
            ("PyObject_GC_UnTrack", ctypes.pythonapi)
        )
    except (ImportError, AttributeError, OSError):  # built without ctypes or its C API
        return _ignore
    return cast("Callable[[object], None]", untrack)


def _ignore(_: object) -> None:
    return None


def _untrack_first(run: object) -> None:
    global _untrack
    _untrack = _untracker()  # made on first use: ctypes loads with the first run read
    _untrack(run)


_untrack: Callable[[object], None] = _untrack_first


_new_run = Run.__new__
_set_run_id = _SLOTS["run_id"].__set__
_set_flow_id = _SLOTS["flow_id"].__set__
_set_status = _SLOTS["status"].__set__
_set_raw = _SLOTS["raw"].__set__
_intern = sys.intern


def parse_run(document: dict[str, Any]) -> Run:
    """A run from its document: every field checked now, only the document kept (written
    out: runs come by the hundred in every page)."""
    if type(document) is not dict and not isinstance(document, dict):
        raise doc.ShapeError("expected a JSON object for Run")
    get = document.get
    run_id = get("run_id", doc.ABSENT)
    if run_id is doc.ABSENT:
        run_id = get("action_id", doc.ABSENT)  # older documents name it only so
    if type(run_id) is not str:
        run_id = doc.str_field(run_id, "run_id")
    flow_id = get("flow_id", doc.ABSENT)
    if type(flow_id) is not str:
        flow_id = doc.str_field(flow_id, "flow_id")
    status = get("status", doc.ABSENT)
    if type(status) is not str:
        status = doc.str_field(status, "status")
    doc.check_fields(document)
    run = _new_run(Run)
    _set_run_id(run, run_id)
    # Many runs share a flow and a status: one string for each, not one per run.
    _set_flow_id(run, _intern(flow_id))
    _set_status(run, _intern(status))
    packed = doc.pack_run(document, run_id)
    _set_raw(run, packed)
    if type(packed) is bytes:  # not a document kept as it is, too deep to pack
        _untrack(run)
    return run


def _str_of(details: dict[str, Any] | None, key: str) -> str | None:
    value = details.get(key) if details else None
    return value if isinstance(value, str) else None


@attrs.frozen
class RunPage:
    """One page of ``GET /runs``; pass ``marker`` back to get the next one.

    A page read from the service keeps its runs (each with its own document) and the other
    members of its document: ``raw`` builds the whole document again, a new ``dict`` each
    time, with each run's ``raw`` in the list of runs.
    """

    runs: list[Run]
    has_next_page: bool = False
    marker: str | None = None
    raw: dict[str, Any] = attrs.field(factory=_raw, repr=False, eq=False)


class PageDocument:
    """What a parsed :class:`RunPage` keeps of its document besides its runs: its other
    members, in order, with the name of the runs' list among them."""

    __slots__ = ("_members", "_runs_key")

    def __init__(self, members: dict[str, Any], runs_key: str) -> None:
        self._members = members
        self._runs_key = runs_key

    def document(self, runs: Sequence[Run]) -> dict[str, Any]:
        document = dict(self._members)
        document[self._runs_key] = [run.raw for run in runs]
        return document


_PAGE_RAW: Final = RunPage.__dict__["raw"]


class _PageRaw:
    """``RunPage.raw``: the document of a parsed page, built again from what it keeps."""

    __slots__ = ()

    def __get__(self, page: RunPage | None, owner: type | None = None) -> Any:
        if page is None:
            return self
        held = _PAGE_RAW.__get__(page, owner)
        return held.document(page.runs) if type(held) is PageDocument else held

    def __set__(self, page: RunPage, value: Any) -> None:
        _PAGE_RAW.__set__(page, value)

    def __delete__(self, page: RunPage) -> None:
        _PAGE_RAW.__delete__(page)


RunPage.raw = _PageRaw()  # type: ignore[assignment]


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


#: Models that lived in this module before they moved to one loaded on first use. Pickles
#: made by earlier versions name them here, and still load.
_MOVED: Final = {
    "RunEvent": "_events",
    "RunLogEvent": "_events",
    "RunNeedsConsentEvent": "_events",
    "RunStatusEvent": "_events",
    "RunWaitingForInputEvent": "_events",
    "RunResult": "_timer_models",
    "Timer": "_timer_models",
    "TimerRun": "_timer_models",
    "TimerRunError": "_timer_models",
    "TimerRunPage": "_timer_models",
    "TimerRunStatus": "_timer_models",
}


def __getattr__(name: str) -> Any:
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__package__}.{module}"), name)
