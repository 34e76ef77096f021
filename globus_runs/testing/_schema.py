"""A small JSON Schema validator for flow input.

Supports what flow input schemas commonly use: ``type`` (``object``, ``array``,
``string``, ``integer``, ``number``, ``boolean``, ``null``, or a list of them),
``properties``, ``required``, ``additionalProperties: false``, ``items`` and
``enum``. Other keywords are ignored. Messages follow the wording of the
``jsonschema`` package, which is what Flows reports.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs


@attrs.frozen
class SchemaViolation:
    """One reason an input does not match its schema."""

    path: str  # JSONPath of the offending value, e.g. "$.files[0].source"
    message: str


def _is_integer(value: object) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPE_CHECKS: dict[str, Callable[[object], bool]] = {
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
}

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _IDENTIFIER.match(key):
        return f"{path}.{key}"
    return f"{path}[{key!r}]"


def validate(schema: Mapping[str, Any], instance: Any) -> list[SchemaViolation]:
    """Every violation of ``schema`` by ``instance``; empty when it is valid."""
    violations: list[SchemaViolation] = []
    _check(schema, instance, "$", violations)
    return violations


def _check(schema: Mapping[str, Any], value: Any, path: str, out: list[SchemaViolation]) -> None:
    expected = schema.get("type")
    if expected is not None:
        names = [expected] if isinstance(expected, str) else list(expected)
        known = [name for name in names if name in _TYPE_CHECKS]
        if known and not any(_TYPE_CHECKS[name](value) for name in known):
            wanted = ", ".join(repr(name) for name in names)
            out.append(SchemaViolation(path, f"{value!r} is not of type {wanted}"))
            return
    if "enum" in schema and value not in schema["enum"]:
        out.append(SchemaViolation(path, f"{value!r} is not one of {schema['enum']!r}"))
    if isinstance(value, dict):
        _check_object(schema, value, path, out)
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            _check(schema["items"], item, _child(path, index), out)


def _check_object(
    schema: Mapping[str, Any],
    value: dict[str, Any],
    path: str,
    out: list[SchemaViolation],
) -> None:
    for name in schema.get("required", ()):
        if name not in value:
            out.append(SchemaViolation(path, f"{name!r} is a required property"))
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name, subschema in properties.items():
        if name in value and isinstance(subschema, Mapping):
            _check(subschema, value[name], _child(path, name), out)
    if schema.get("additionalProperties") is False:
        extra = sorted(name for name in value if name not in properties)
        if extra:
            verb = "was" if len(extra) == 1 else "were"
            names = ", ".join(repr(name) for name in extra)
            out.append(
                SchemaViolation(
                    path,
                    f"Additional properties are not allowed ({names} {verb} unexpected)",
                )
            )
