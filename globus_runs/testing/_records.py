"""What the emulator stores about flows and runs.

A run stores only what was decided about it (when it started, when it was
resumed or canceled); its status, details and log are derived from these and
the clock by `globus_runs.testing._timeline`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import attrs

Outcome = Literal["SUCCEEDED", "FAILED", "ENDED"]
StepType = Literal["Action", "Pass"]


def _check_inactive_after(
    instance: FlowBehavior, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and not 0 <= value < instance.duration:
        raise ValueError("inactive_after must be within [0, duration)")


@attrs.frozen(kw_only=True)
class FlowBehavior:
    """How every run of an emulated flow behaves.

    A run is ACTIVE for ``duration`` seconds of emulated time, then ends with
    ``outcome``: SUCCEEDED (``details.code == "FlowSucceeded"``), or FAILED /
    ENDED with ``details.code == failure_code``. Its ``steps`` states (of
    ``step_type`` Action or Pass) log a Started and a Completed entry each, spread
    evenly over the duration. With ``inactive_after`` the run goes INACTIVE that
    many seconds after starting (``details.code == inactive_code``) and waits
    until resumed; the rest of its duration then runs from the resume time.
    """

    duration: float = attrs.field(default=10.0, validator=attrs.validators.ge(0))
    outcome: Outcome = attrs.field(
        default="SUCCEEDED",
        validator=attrs.validators.in_(("SUCCEEDED", "FAILED", "ENDED")),
    )
    failure_code: str = "ActionFailedException"
    failure_description: str = "The action failed"
    steps: int = attrs.field(default=2, validator=attrs.validators.ge(0))
    step_type: StepType = attrs.field(
        default="Action", validator=attrs.validators.in_(("Action", "Pass"))
    )
    inactive_after: float | None = attrs.field(default=None, validator=_check_inactive_after)
    inactive_code: str = "ConsentRequired"


@attrs.define(kw_only=True, eq=False)
class FlowRecord:
    """An emulated flow: its public description and the behaviour of its runs."""

    flow_id: str
    title: str
    behavior: FlowBehavior
    definition: dict[str, Any]
    input_schema: dict[str, Any]
    owner: str  # principal URN
    created_at: datetime
    updated_at: datetime
    subtitle: str = ""
    description: str = ""
    keywords: list[str] = attrs.Factory(list)
    # Principals given the flow_run_manager / flow_run_monitor role on every run.
    run_managers: list[str] = attrs.Factory(list)
    run_monitors: list[str] = attrs.Factory(list)
    # A web-input step (``_web_inputs.WebInputStep``) every run stops at, or None.
    web_input: Any = None
    # Runs go INACTIVE with ConsentRequired until their owner consents to the flow's scope.
    consent_required: bool = False


@attrs.define(kw_only=True, eq=False)
class RunRecord:
    """An emulated run: what was asked for and what has happened to it."""

    run_id: str
    seq: int  # creation order, the last tie-breaker when sorting
    flow: FlowRecord
    behavior: FlowBehavior  # the flow's behaviour, possibly overridden per run
    owner: str  # principal URN
    body: dict[str, Any]
    start_time: datetime
    label: str | None = None
    tags: list[str] = attrs.Factory(list)
    run_managers: list[str] = attrs.Factory(list)
    run_monitors: list[str] = attrs.Factory(list)
    activity_notification_policy: dict[str, Any] = attrs.Factory(lambda: {"status": ["INACTIVE"]})
    resumed_at: datetime | None = None
    canceled_at: datetime | None = None
    # The derived log plan, kept by _timeline and rebuilt when the run changes.
    plan_cache: object = attrs.field(default=None, repr=False)
    # The run's web input (its flow has a web-input step) and when it was answered.
    web_input_id: str | None = None
    answered_at: datetime | None = None
