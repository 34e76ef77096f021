"""Validation of the JSON bodies that start and update runs.

Tags are normalized as Flows stores them (`normalize_tag`).

Errors are collected pydantic-style (every bad field reported at once, each
with its ``loc``) into a 422, except an over-long label, which Flows answers
with a 400.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from ._errors import ApiError, validation_item
from ._wire import is_principal_urn

LABEL_MAX_LENGTH = 64
NOTIFICATION_STATUSES = ("INACTIVE", "SUCCEEDED", "FAILED")
UPDATABLE_FIELDS = ("label", "tags", "run_monitors", "run_managers")


@attrs.frozen
class RunRequest:
    """A validated ``POST /flows/{id}/run`` (or ``validate_run``) body."""

    body: dict[str, Any]
    label: str | None = None
    tags: list[str] = attrs.Factory(list)
    run_managers: list[str] = attrs.Factory(list)
    run_monitors: list[str] = attrs.Factory(list)
    activity_notification_policy: dict[str, Any] = attrs.Factory(lambda: {"status": ["INACTIVE"]})


class _Errors:
    """Validation problems found so far in one body."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.too_long: list[dict[str, Any]] = []

    def add(self, field: str, msg: str, type_: str) -> None:
        self.items.append(validation_item(["body", field], msg, type_))

    def raise_if_any(self) -> None:
        if self.items:
            raise ApiError(422, "UNPROCESSABLE_ENTITY", self.items)
        if self.too_long:
            raise ApiError(400, "BAD_REQUEST", self.too_long)


def _label(value: Any, errors: _Errors) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        errors.add("label", "str type expected", "type_error.str")
    elif len(value) > LABEL_MAX_LENGTH:
        errors.too_long.append(
            validation_item(
                ["body", "label"],
                f"ensure this value has at most {LABEL_MAX_LENGTH} characters",
                "value_error.any_str.max_length",
            )
        )
    return value


def normalize_tag(tag: str) -> str:
    """A tag as Flows stores it: trimmed, every run of whitespace made one space."""
    return " ".join(tag.split())


def _tags(value: Any, errors: _Errors) -> Any:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.add("tags", "value is not a valid list of strings", "type_error.list")
        return value
    return [normalize_tag(tag) for tag in value]


def _principals(field: str, value: Any, errors: _Errors) -> Any:
    if not isinstance(value, list) or not all(is_principal_urn(v) for v in value):
        errors.add(
            field,
            "must be a list of identity or group URNs "
            "(urn:globus:auth:identity:<id> or urn:globus:groups:id:<id>)",
            "value_error.principal_urn",
        )
    return value


def _policy(value: Any, errors: _Errors) -> Any:
    statuses = value.get("status") if isinstance(value, dict) else None
    if (
        not isinstance(statuses, list)
        or set(value) != {"status"}
        or not all(status in NOTIFICATION_STATUSES for status in statuses)
    ):
        errors.add(
            "activity_notification_policy",
            'expected {"status": [...]} with statuses among ' + ", ".join(NOTIFICATION_STATUSES),
            "value_error.activity_notification_policy",
        )
    return value


_FIELDS: dict[str, Callable[[Any, _Errors], Any]] = {
    "label": _label,
    "tags": _tags,
    "run_managers": lambda value, errors: _principals("run_managers", value, errors),
    "run_monitors": lambda value, errors: _principals("run_monitors", value, errors),
    "activity_notification_policy": _policy,
}


def _require_object(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ApiError(
            422,
            "UNPROCESSABLE_ENTITY",
            [validation_item(["body"], "value is not a valid dict", "type_error.dict")],
        )
    return payload


def parse_run_request(payload: Any) -> RunRequest:
    """Validate a run start body; other keys than the documented ones are ignored."""
    payload = _require_object(payload)
    errors = _Errors()
    if "body" not in payload:
        errors.add("body", "field required", "value_error.missing")
    elif not isinstance(payload["body"], dict):
        errors.add("body", "value is not a valid dict", "type_error.dict")
    fields = {
        name: check(payload[name], errors) for name, check in _FIELDS.items() if name in payload
    }
    errors.raise_if_any()
    return RunRequest(body=payload["body"], **fields)


def parse_run_update(payload: Any) -> dict[str, Any]:
    """Validate a ``PUT /runs/{id}`` body: the fields to change and their values."""
    payload = _require_object(payload)
    errors = _Errors()
    for name in payload:
        if name not in UPDATABLE_FIELDS:
            errors.add(name, "extra fields not permitted", "value_error.extra")
    changes = {
        name: _FIELDS[name](payload[name], errors) for name in UPDATABLE_FIELDS if name in payload
    }
    errors.raise_if_any()
    return changes
