"""How a run document maps to :class:`Run`'s fields: strict readers, one per field.

Parsing a run runs every reader once, so a value of the wrong JSON type is an error there;
a parsed ``Run`` then keeps only its id and document, compactly encoded (see :func:`pack_run`), and
runs the same reader again when a field is read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from . import _json

__all__ = [
    "ABSENT",
    "LAZY_FIELDS",
    "READERS",
    "ShapeError",
    "check_flow_description",
    "json_object",
    "optional_datetime",
    "optional_object",
    "optional_str",
    "pack",
    "pack_run",
    "parse_datetime",
    "str_field",
    "str_list",
    "unpack",
    "unpack_run",
]


class ShapeError(Exception):
    """A JSON value of the wrong type; the converter turns it into ResponseParseError."""


ABSENT: Any = object()


def parse_datetime(value: Any, _: Any = None) -> datetime:
    """Parse an ISO 8601 timestamp; one without an offset is taken as UTC."""
    if not isinstance(value, str):
        raise ShapeError(f"expected a timestamp string, got {type(value).__name__}")
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def str_field(value: Any, name: str) -> str:
    if isinstance(value, str):
        return value
    if value is ABSENT:
        raise KeyError(name)
    raise ShapeError(f"expected str, got {type(value).__name__}")


def optional_str(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ShapeError(f"expected str, got {type(value).__name__}")


def str_list(value: Any, _: Any = None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        for item in value:  # a plain loop: no generator to set up for lists of one or two
            if not isinstance(item, str):
                break
        else:
            return value
    raise ShapeError("expected a list of strings")


def json_object(value: Any, _: Any = None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ShapeError(f"expected a JSON object, got {type(value).__name__}")
    return value


def optional_datetime(value: Any) -> datetime | None:
    return None if value is None else parse_datetime(value)


def optional_object(value: Any) -> dict[str, Any] | None:
    return None if value is None else json_object(value)


_DESCRIPTION_STRS: Final = (
    "id",
    "title",
    "subtitle",
    "description",
    "flow_owner",
    "globus_auth_scope",
)
_DESCRIPTION_TIMES: Final = ("created_at", "updated_at", "deleted_at")


def check_flow_description(value: Any) -> dict[str, Any] | None:
    """``flow_description`` as sent, after checking the type of each field it names."""
    description = optional_object(value)
    if description is not None:
        get = description.get
        for key in _DESCRIPTION_STRS:
            optional_str(get(key))
        for key in _DESCRIPTION_TIMES:
            optional_datetime(get(key))
        str_list(get("keywords"))
    return description


def _reader(key: str, read: Callable[[Any], Any]) -> Callable[[dict[str, Any]], Any]:
    def field(document: dict[str, Any]) -> Any:
        return read(document.get(key))

    return field


#: The fields a parsed ``Run`` derives from its document when read, in constructor order.
LAZY_FIELDS: Final = (
    "flow_title",
    "display_status",
    "label",
    "tags",
    "start_time",
    "completion_time",
    "run_owner",
    "run_managers",
    "run_monitors",
    "user_role",
    "details",
    "flow_description",
    "blocking_web_input_id",
    "flow_last_updated",
    "user_roles",
)

_KINDS: Final[dict[str, Callable[[Any], Any]]] = {
    "flow_title": optional_str,
    "display_status": optional_str,
    "label": optional_str,
    "tags": str_list,
    "start_time": optional_datetime,
    "completion_time": optional_datetime,
    "run_owner": optional_str,
    "run_managers": str_list,
    "run_monitors": str_list,
    "user_role": optional_str,
    "details": optional_object,
    "flow_description": check_flow_description,
    "blocking_web_input_id": optional_str,
    "flow_last_updated": optional_datetime,
    "user_roles": str_list,
}

READERS: Final = tuple(_reader(name, _KINDS[name]) for name in LAZY_FIELDS)


# Each kind's check written out for a value ``v`` of the usual type (exact ``str``, ``list``,
# ``dict``); any other value goes to the kind's reader, which refuses it or accepts it.
_INLINE: Final[dict[Callable[[Any], Any], str]] = {
    optional_str: """
if v is not None and type(v) is not str:
    optional_str(v)
""",
    str_list: """
if v is not None:
    if type(v) is not list:
        str_list(v)
    else:
        for item in v:
            if type(item) is not str:
                str_list(v)
                break
""",
    optional_datetime: """
if type(v) is str:
    from_iso(v)  # with an offset or without: parse_datetime reads both
elif v is not None:
    parse_datetime(v)
""",
    optional_object: """
if v is not None and type(v) is not dict:
    optional_object(v)
""",
}


def _compile_check() -> Callable[[dict[str, Any]], None]:
    """:func:`check_fields`: every reader's check, one after the other, in one function."""
    lines = ["def check_fields(document):", "    get = document.get"]
    namespace: dict[str, Any] = {"from_iso": datetime.fromisoformat}
    for name in LAZY_FIELDS:
        kind = _KINDS[name]
        namespace[kind.__name__] = kind
        lines.append(f"    v = get({name!r})")
        body = _INLINE.get(kind, f"{kind.__name__}(v)")
        lines.extend("    " + line for line in body.strip().splitlines())
    namespace["parse_datetime"] = parse_datetime
    exec(compile("\n".join(lines), "<check_fields>", "exec"), namespace)
    check: Callable[[dict[str, Any]], None] = namespace["check_fields"]
    return check


def _check_first(document: dict[str, Any]) -> None:
    """Makes :func:`check_fields` (not at import: a client that reads no run never needs it)
    and checks ``document`` with it."""
    global check_fields
    check_fields = _compile_check()
    check_fields(document)


#: Run every reader of :data:`READERS` on a document: a :class:`ShapeError` (or ``ValueError``
#: for a timestamp that does not parse) for a value of the wrong type. Runs come by the hundred
#: in a page: the checks are written out in one function, made from the readers' table on the
#: first call.
check_fields: Callable[[dict[str, Any]], None] = _check_first


def pack(document: dict[str, Any]) -> bytes | dict[str, Any]:
    """The document as compact JSON bytes: a fraction of the memory of the decoded objects.

    Documents are decoded with the same library (``_json``), so encoding them again gives
    the same document back. One that cannot be encoded (nested too deeply, a number out of
    the encoder's range) is kept as it is.
    """
    try:
        packed = _json.dumps(document)
    except (TypeError, ValueError, OverflowError, RecursionError):
        return document
    # orjson leaves its output in a buffer of several KB: keep a copy of just the bytes.
    return memoryview(packed).tobytes()


# A run document names its id once or twice (``run_id``, and ``action_id`` in older ones); the
# run keeps that id beside its packed document, which holds this number in its place.
_ID_KEYS: Final = ("run_id", "action_id")
_ID_HOLE: Final = 0


def _is_hole(value: Any) -> bool:
    return type(value) is int and value == _ID_HOLE


def pack_run(document: dict[str, Any], run_id: str) -> bytes | dict[str, Any]:
    """:func:`pack`, with ``run_id`` left out where the document names it (see :func:`unpack_run`).

    A document whose ``run_id`` or ``action_id`` is another value that reads like the hole is
    kept as it is.
    """
    get = document.get
    named = get("run_id", ABSENT)
    action = get("action_id", ABSENT)
    holed_named = named == run_id
    holed_action = action == run_id
    if (not holed_named and _is_hole(named)) or (not holed_action and _is_hole(action)):
        return document
    holed = dict(document)
    if holed_named:
        holed["run_id"] = _ID_HOLE
    if holed_action:
        holed["action_id"] = _ID_HOLE
    packed = pack(holed)
    return document if packed is holed else packed


def unpack_run(document: bytes | dict[str, Any], run_id: str) -> dict[str, Any]:
    """The document kept by :func:`pack_run` (a new dict each time), its run id put back."""
    if not isinstance(document, bytes):
        return document
    decoded = unpack(document)
    for key in _ID_KEYS:
        if _is_hole(decoded.get(key)):
            decoded[key] = run_id
    return decoded


def unpack(document: bytes | dict[str, Any]) -> dict[str, Any]:
    """The decoded document kept by :func:`pack` (a new dict each time)."""
    if isinstance(document, bytes):
        decoded: dict[str, Any] = _json.loads(document)
        return decoded
    return document
