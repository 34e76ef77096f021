"""The emulated web inputs of Flows: questions a run asks a person, and their answers.

A flow registered with a web-input step (`WebInputStep`) gives each run one web input. The
run is ACTIVE with ``blocking_web_input_id`` set from ``after`` seconds into its progress
until a respondent answers; the chosen option decides how the run ends. Who may do what:

- respondents (default: the run's owner) may read and answer; viewers may only read; anyone
  else gets 404, exactly like an input that does not exist;
- an input whose step names ``required_policies`` answers 403 ``AuthenticationPolicyRequired``
  (a requirements error with the input's summary) until the caller's identity satisfies them
  (`FakeGlobus.satisfy_policies`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from ._errors import ApiError, bad_request, forbidden, not_found, unprocessable
from ._markers import decode_marker, encode_marker
from ._params import QueryParams
from ._records import Outcome, RunRecord
from ._timeline import run_state
from ._wire import format_time, identity_urn

if TYPE_CHECKING:
    from ._flows import FlowsState

__all__ = ["WebInputChoice", "WebInputStep", "WebInputsState", "web_input_step"]

_MARKER_KIND = "web_inputs"
_ORDER_FIELDS = ("created_timestamp", "edited_timestamp", "closed_timestamp")
_MAX_IDS = 10
_PER_PAGE_DEFAULT = 20
_PER_PAGE_MAX = 100
_OUTCOMES = ("SUCCEEDED", "FAILED", "ENDED")


@attrs.frozen(kw_only=True)
class WebInputChoice:
    """One option of a web-input step and the outcome of a run whose respondent picks it."""

    option_id: str
    label: str
    description: str = ""
    outcome: Outcome = "SUCCEEDED"


@attrs.frozen(kw_only=True)
class WebInputStep:
    """A flow's web-input step: the question, its options, and who may see and answer it."""

    title: str
    options: tuple[WebInputChoice, ...]
    after: float = 0.0
    text: str | None = None
    rows: tuple[dict[str, Any], ...] = ()
    respondents: tuple[str, ...] = ()  # principal URNs; empty: the run's owner
    viewers: tuple[str, ...] = ()
    required_policies: tuple[str, ...] = ()

    def choice(self, option_id: Any) -> WebInputChoice | None:
        """The option whose id is ``option_id``, if any."""
        return next((c for c in self.options if c.option_id == option_id), None)


_DEFAULT_OPTIONS = (
    {"label": "Approve", "description": "Let the run go on.", "outcome": "SUCCEEDED"},
    {"label": "Reject", "description": "Stop the run.", "outcome": "FAILED"},
)


def _urns(values: Any, name: str) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"web_input[{name!r}] must be a list of identity ids or URNs")
    return tuple(identity_urn(value) for value in values)


def _choice(option: Any) -> WebInputChoice:
    if not isinstance(option, Mapping) or not isinstance(option.get("label"), str):
        raise ValueError("each web_input option must be a mapping with a 'label'")
    outcome = option.get("outcome", "SUCCEEDED")
    if outcome not in _OUTCOMES:
        raise ValueError(f"a web_input option's outcome must be one of {_OUTCOMES}")
    return WebInputChoice(
        option_id=str(option.get("option_id") or uuid.uuid4()),
        label=option["label"],
        description=str(option.get("description", "")),
        outcome=outcome,
    )


def web_input_step(spec: Mapping[str, Any] | WebInputStep, duration: float) -> WebInputStep:
    """Read ``add_flow(web_input=...)``: ``title``, ``options`` (each ``label``,
    ``description``, ``outcome``, ``option_id``), ``after`` (seconds of progress, less than
    the duration), ``text`` or ``rows`` (a table), ``respondents``, ``viewers`` and
    ``required_policies``. Raises `ValueError` when it cannot describe a step."""
    if isinstance(spec, WebInputStep):
        step = spec
    else:
        if not isinstance(spec, Mapping):
            raise ValueError("web_input must be a mapping")
        rows = spec.get("rows") or ()
        if not all(isinstance(row, Mapping) for row in rows):
            raise ValueError("web_input['rows'] must be a list of mappings")
        policies = spec.get("required_policies") or ()
        step = WebInputStep(
            title=str(spec.get("title", "Approve this run?")),
            options=tuple(_choice(o) for o in spec.get("options", _DEFAULT_OPTIONS)),
            after=float(spec.get("after", 0.0)),
            text=spec.get("text"),
            rows=tuple(dict(row) for row in rows),
            respondents=_urns(spec.get("respondents"), "respondents"),
            viewers=_urns(spec.get("viewers"), "viewers"),
            required_policies=tuple(str(policy) for policy in policies),
        )
    if not step.options:
        raise ValueError("a web_input needs at least one option")
    if len({c.option_id for c in step.options}) != len(step.options):
        raise ValueError("web_input option ids must differ")
    if not 0 <= step.after < duration:
        raise ValueError("web_input['after'] must be within [0, duration)")
    return step


@attrs.frozen
class _Answer:
    responder: str
    value: Any
    time: datetime


class WebInputsState:
    """The web inputs of the emulated runs, their answers and the sessions' policies."""

    def __init__(self, flows: FlowsState) -> None:
        self._flows = flows
        self.answers: dict[str, _Answer] = {}
        # (principal URN, policy id) pairs: the identity's session meets the policy.
        self.satisfied: set[tuple[str, str]] = set()

    # -- what an input is, at a moment ---------------------------------------------------

    def _inputs(self, now: datetime) -> list[tuple[str, RunRecord]]:
        found = []
        for run in self._flows.runs.values():
            if run.web_input_id is None:
                continue
            created = self._created(run)
            if created > now or (run.canceled_at is not None and run.canceled_at < created):
                continue  # not reached yet, or canceled before it was
            found.append((run.web_input_id, run))
        return found

    @staticmethod
    def _step(run: RunRecord) -> WebInputStep:
        step = run.flow.web_input
        assert isinstance(step, WebInputStep)
        return step

    def _created(self, run: RunRecord) -> datetime:
        return run.start_time + timedelta(seconds=self._step(run).after)

    def _closed_at(self, input_id: str, run: RunRecord, now: datetime) -> datetime | None:
        answer = self.answers.get(input_id)
        if answer is not None and answer.time <= now:
            return answer.time
        state = run_state(run, now)
        if state.blocking_web_input_id == input_id:
            return None
        return state.completion_time or now

    def _roles(self, run: RunRecord) -> tuple[list[str], list[str]]:
        step = self._step(run)
        respondents = list(step.respondents) or [run.owner]
        return list(step.viewers), respondents

    def _user_roles(self, run: RunRecord, caller: str) -> list[str]:
        viewers, respondents = self._roles(run)
        roles = []
        if caller in viewers or caller in respondents:
            roles.append("viewer")
        if caller in respondents:
            roles.append("respondent")
        return roles

    def _summary(self, input_id: str, run: RunRecord, caller: str, now: datetime) -> dict[str, Any]:
        created = self._created(run)
        closed = self._closed_at(input_id, run, now)
        return {
            "id": input_id,
            "status": "open" if closed is None else "closed",
            "user_roles": self._user_roles(run, caller),
            "input_type": "selection",
            "title": self._step(run).title,
            "flow": {"id": run.flow.flow_id, "title": run.flow.title},
            "run": {"id": run.run_id, "label": run.label},
            "created_timestamp": format_time(created),
            "edited_timestamp": format_time(closed or created),
            "closed_timestamp": None if closed is None else format_time(closed),
        }

    def _document(
        self, input_id: str, run: RunRecord, caller: str, now: datetime
    ) -> dict[str, Any]:
        step = self._step(run)
        summary = self._summary(input_id, run, caller, now)
        title = summary.pop("title")
        context: dict[str, Any] = {"title": title}
        if step.rows:
            context.update(presentation_style="table", rows=[dict(row) for row in step.rows])
        else:
            context.update(presentation_style="text", text=step.text or "")
        viewers, respondents = self._roles(run)
        options = [
            {"option_id": c.option_id, "label": c.label, "description": c.description}
            for c in step.options
        ]
        schema = {
            "$schema": "http://json-schema.org/draft-07/schema",
            "title": title,
            "type": "string",
            "oneOf": [
                {"const": c.option_id, "title": c.label, "description": c.description}
                for c in step.options
            ],
        }
        document = {key: summary[key] for key in ("id", "status", "user_roles", "input_type")}
        document.update(
            input_schema=schema,
            context=context,
            options=options,
            roles={"viewer_urns": viewers, "respondent_urns": respondents},
            creator_urn=run.owner,
        )
        document.update((key, summary[key]) for key in ("flow", "run", *_ORDER_FIELDS))
        return document

    # -- access ----------------------------------------------------------------------------

    def _visible(self, caller: str, input_id: str, now: datetime) -> RunRecord:
        for found_id, run in self._inputs(now):
            if found_id == input_id and self._user_roles(run, caller):
                return run
        raise not_found(f"No Web Input exists with id value {input_id}")

    def _check_policies(self, caller: str, input_id: str, run: RunRecord, now: datetime) -> None:
        missing = [
            policy
            for policy in self._step(run).required_policies
            if (caller, policy) not in self.satisfied
        ]
        if missing:
            raise ApiError(
                403,
                "AUTHENTICATION_POLICY_REQUIRED",
                "No identity in the session meets the authentication policy of this web "
                "input's flow; sign in again with one that does.",
                extra={
                    "code": "AuthenticationPolicyRequired",
                    "authorization_parameters": {
                        "session_required_policies": missing,
                        "session_message": "Sign in again to reach this web input.",
                    },
                    "web_input_summary": self._summary(input_id, run, caller, now),
                },
            )

    # -- operations ------------------------------------------------------------------------

    def list(self, caller: str, params: QueryParams, now: datetime) -> dict[str, Any]:
        """``GET /web_inputs``: the inputs ``caller`` holds a role on, one page."""
        marker = params.text("marker")
        if marker is None:
            query = _parse_query(params)
            offset = 0
        else:
            query = decode_marker(_MARKER_KIND, marker)
            offset = query.pop("offset", None)
            if not isinstance(offset, int) or offset < 0:
                raise bad_request("Invalid marker")
        summaries = []
        for input_id, run in self._inputs(now):
            summary = self._summary(input_id, run, caller, now)
            if not summary["user_roles"]:
                continue
            if query["roles"] and not set(query["roles"]) & set(summary["user_roles"]):
                continue
            if query["states"] and summary["status"] not in query["states"]:
                continue
            if query["flow_ids"] and run.flow.flow_id not in query["flow_ids"]:
                continue
            if query["run_ids"] and run.run_id not in query["run_ids"]:
                continue
            summaries.append((run.seq, summary))
        summaries.sort(key=lambda item: item[0])
        for field, descending in reversed(query["orderby"]):
            # None (an open input's closed_timestamp) sorts last either way.
            present = [item for item in summaries if item[1][field] is not None]
            absent = [item for item in summaries if item[1][field] is None]
            present.sort(key=lambda item: item[1][field], reverse=descending)
            summaries = present + absent
        per_page = query["per_page"]
        chunk = summaries[offset : offset + per_page]
        more = offset + per_page < len(summaries)
        next_marker = encode_marker(_MARKER_KIND, {**query, "offset": offset + per_page})
        return {
            "web_input_summaries": [summary for _, summary in chunk],
            "has_next_page": more,
            "marker": next_marker if more else None,
        }

    def get(self, caller: str, input_id: str, now: datetime) -> dict[str, Any]:
        """``GET /web_inputs/{id}``."""
        run = self._visible(caller, input_id, now)
        self._check_policies(caller, input_id, run, now)
        return self._document(input_id, run, caller, now)

    def respond(
        self, caller: str, input_id: str, payload: Any, now: datetime, at: datetime | None = None
    ) -> dict[str, Any]:
        """``POST /web_inputs/{id}/respond``: a respondent picks an option; the run goes on.

        With ``at`` (later than ``now``) the answer is recorded now but takes effect then.
        """
        value = _response_value(payload)
        run = self._visible(caller, input_id, now)
        if "respondent" not in self._user_roles(run, caller):
            raise forbidden(f"User does not have respondent role on web input {input_id}")
        self._check_policies(caller, input_id, run, now)
        if input_id in self.answers or self._closed_at(input_id, run, now) is not None:
            raise ApiError(409, "STATE_CONFLICT", f"Web Input {input_id} is already closed.")
        now = max(now, at or now)
        choice = self._step(run).choice(value)
        if choice is None:
            raise ApiError(
                422,
                "UNPROCESSABLE_ENTITY",
                f"{value!r} is not a registered option id for this input.",
            )
        self.answers[input_id] = _Answer(caller, value, now)
        run.behavior = attrs.evolve(run.behavior, outcome=choice.outcome)
        run.answered_at = now
        self._flows.retimed(run)
        return {"status": "ok"}


def _response_value(payload: Any) -> Any:
    response = payload.get("response") if isinstance(payload, dict) else None
    if not isinstance(response, dict) or "value" not in response:
        raise unprocessable(["body", "response", "value"], "field required", "value_error.missing")
    return response["value"]


def _checked_words(params: QueryParams, name: str, allowed: Iterable[str] | None) -> list[str]:
    words = list(params.words(name))
    if allowed is not None:
        allowed = set(allowed)
        for word in words:
            if word not in allowed:
                raise unprocessable(
                    ["query", name], f"unexpected value {word!r}", "value_error.enum"
                )
    elif len(words) > _MAX_IDS:
        raise unprocessable(
            ["query", name], f"ensure this value has at most {_MAX_IDS} items", "value_error"
        )
    else:
        for word in words:
            try:
                uuid.UUID(word)
            except ValueError:
                raise unprocessable(
                    ["query", name], "value is not a valid uuid", "type_error.uuid"
                ) from None
    return words


def _parse_query(params: QueryParams) -> dict[str, Any]:
    orderby = []
    for item in params.words("orderby"):
        field, _, direction = item.partition(" ")
        direction = direction.strip().upper() or "ASC"
        if field not in _ORDER_FIELDS or direction not in ("ASC", "DESC"):
            raise unprocessable(["query", "orderby"], f"invalid orderby {item!r}", "value_error")
        orderby.append((field, direction == "DESC"))
    return {
        "roles": _checked_words(params, "filter_roles", ("viewer", "respondent")),
        # Without filter_states, only open inputs are listed.
        "states": _checked_words(params, "filter_states", ("open", "closed")) or ["open"],
        "flow_ids": _checked_words(params, "filter_flow_ids", None),
        "run_ids": _checked_words(params, "filter_run_ids", None),
        "orderby": orderby,
        "per_page": params.integer("per_page", _PER_PAGE_DEFAULT, 1, _PER_PAGE_MAX),
    }
