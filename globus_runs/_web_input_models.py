"""Web inputs: the questions a flow run asks a person (an approval, a choice) and waits on.

Plain data; how they map to JSON is registered in ``_converter``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import attrs

__all__ = [
    "WebInput",
    "WebInputContext",
    "WebInputFlow",
    "WebInputOption",
    "WebInputPage",
    "WebInputRoles",
    "WebInputRun",
    "WebInputState",
    "WebInputSummary",
]


def _raw() -> dict[str, Any]:
    return {}


class WebInputState:
    """The states of a web input. ``WebInput.status`` stays a plain ``str``."""

    OPEN: Final = "open"
    CLOSED: Final = "closed"


@attrs.frozen
class WebInputOption:
    """One choice of a ``selection`` web input; respond with its ``option_id``."""

    option_id: str
    label: str
    description: str | None = None
    raw: dict[str, Any] = attrs.field(factory=_raw, repr=False, eq=False)


@attrs.frozen
class WebInputContext:
    """What the person is shown: a ``title`` and either ``text`` or table ``rows``.

    ``presentation_style`` is ``"text"`` or ``"table"``; each row is an object such as
    ``{"field": "Version", "value": "v2.4.1"}``.
    """

    title: str | None = None
    presentation_style: str | None = None
    text: str | None = None
    rows: list[dict[str, Any]] = attrs.field(factory=list)
    raw: dict[str, Any] = attrs.field(factory=_raw, repr=False, eq=False)


@attrs.frozen
class WebInputRoles:
    """Who may see (``viewer_urns``) and who may answer (``respondent_urns``) a web input."""

    viewer_urns: list[str] = attrs.field(factory=list)
    respondent_urns: list[str] = attrs.field(factory=list)


@attrs.frozen
class WebInputFlow:
    """The flow whose run asks the question."""

    id: str
    title: str | None = None


@attrs.frozen
class WebInputRun:
    """The run that waits for the answer."""

    id: str
    label: str | None = None


@attrs.frozen
class WebInputSummary:
    """A web input as ``GET /web_inputs`` lists it.

    ``user_roles`` are the caller's roles on it (``"viewer"``, ``"respondent"``).
    """

    id: str
    status: str
    user_roles: list[str] = attrs.field(factory=list)
    input_type: str | None = None
    title: str | None = None
    flow: WebInputFlow | None = None
    run: WebInputRun | None = None
    created_timestamp: datetime | None = None
    edited_timestamp: datetime | None = None
    closed_timestamp: datetime | None = None
    raw: dict[str, Any] = attrs.field(factory=_raw, repr=False, eq=False)

    @property
    def is_open(self) -> bool:
        """True while a response is still accepted."""
        return self.status == WebInputState.OPEN


@attrs.frozen
class WebInput:
    """One web input, as ``GET /web_inputs/{id}`` describes it.

    Example::

        web_input = await flows.get_web_input(run.blocking_web_input_id)
        for number, option in enumerate(web_input.options, 1):
            print(number, option.label)
    """

    id: str
    status: str
    user_roles: list[str] = attrs.field(factory=list)
    input_type: str | None = None
    input_schema: dict[str, Any] | None = None
    context: WebInputContext = attrs.field(factory=WebInputContext)
    options: list[WebInputOption] = attrs.field(factory=list)
    roles: WebInputRoles = attrs.field(factory=WebInputRoles)
    creator_urn: str | None = None
    flow: WebInputFlow | None = None
    run: WebInputRun | None = None
    created_timestamp: datetime | None = None
    edited_timestamp: datetime | None = None
    closed_timestamp: datetime | None = None
    raw: dict[str, Any] = attrs.field(factory=_raw, repr=False, eq=False)

    @property
    def title(self) -> str | None:
        """The question's title (``context.title``)."""
        return self.context.title

    @property
    def is_open(self) -> bool:
        """True while a response is still accepted."""
        return self.status == WebInputState.OPEN

    @property
    def can_respond(self) -> bool:
        """True when the caller holds the ``respondent`` role."""
        return "respondent" in self.user_roles


@attrs.frozen
class WebInputPage:
    """One page of ``GET /web_inputs``; pass ``marker`` back to get the next one.

    When the service leaves ``has_next_page`` out, a non-null ``marker`` means there is more.
    """

    web_inputs: list[WebInputSummary]
    has_next_page: bool = False
    marker: str | None = None
    raw: dict[str, Any] = attrs.field(factory=_raw, repr=False, eq=False)
