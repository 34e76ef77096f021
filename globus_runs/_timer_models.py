"""The Timers models: plain data returned by ``TimersClient``, imported with it (not with the
package). How they map to JSON lives in ``timers._parse``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import attrs

from ._models import _json_repr, _raw

__all__ = ["RunResult", "Timer", "TimerRun", "TimerRunError", "TimerRunPage", "TimerRunStatus"]


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
