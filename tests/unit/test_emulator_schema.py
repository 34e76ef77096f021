"""The flow input validator."""

from __future__ import annotations

from typing import Any

import pytest

from globus_runs.testing._schema import SchemaViolation, validate


def messages(schema: dict[str, Any], instance: Any) -> list[tuple[str, str]]:
    return [(v.path, v.message) for v in validate(schema, instance)]


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        ("object", {}, []),
        ("array", [1], {}),
        ("string", "s", 1),
        ("integer", 3, 3.5),
        ("integer", 2.0, True),
        ("number", 2.5, "2.5"),
        ("boolean", False, 0),
        ("null", None, 0),
    ],
)
def test_types(kind: str, good: Any, bad: Any) -> None:
    assert validate({"type": kind}, good) == []
    assert messages({"type": kind}, bad) == [("$", f"{bad!r} is not of type {kind!r}")]


def test_a_list_of_types_accepts_any_of_them() -> None:
    schema = {"type": ["string", "null"]}
    assert validate(schema, None) == []
    assert messages(schema, 1) == [("$", "1 is not of type 'string', 'null'")]


def test_required_properties_and_nested_paths() -> None:
    schema = {
        "type": "object",
        "required": ["source"],
        "properties": {
            "files": {"type": "array", "items": {"type": "object", "required": ["path"]}},
            "odd key": {"type": "integer"},
        },
    }
    assert messages(schema, {"files": [{"path": "a"}, {}], "odd key": "x"}) == [
        ("$", "'source' is a required property"),
        ("$.files[1]", "'path' is a required property"),
        ("$['odd key']", "'x' is not of type 'integer'"),
    ]


def test_additional_properties_false_and_enum() -> None:
    schema = {
        "type": "object",
        "properties": {"mode": {"enum": ["fast", "slow"]}},
        "additionalProperties": False,
    }
    assert messages(schema, {"mode": "medium", "b": 1, "a": 2}) == [
        ("$.mode", "'medium' is not one of ['fast', 'slow']"),
        ("$", "Additional properties are not allowed ('a', 'b' were unexpected)"),
    ]


def test_an_empty_schema_accepts_anything() -> None:
    assert validate({}, {"anything": [1, 2]}) == []
    assert SchemaViolation("$", "m").path == "$"
