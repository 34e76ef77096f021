"""What ``FlowsClient.watch_run`` yields, imported when a run is first watched (not with the
package)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from ._models import Run, RunLogEntry

if TYPE_CHECKING:
    from ._consent import InactiveReason
    from ._web_input_models import WebInput

__all__ = [
    "RunEvent",
    "RunLogEvent",
    "RunNeedsConsentEvent",
    "RunStatusEvent",
    "RunWaitingForInputEvent",
]


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
