"""The one cattrs converter that turns service JSON into models, built once, on first use
(cattrs and its generated hooks cost more to import than a client needs before it decodes).

Hooks are strict: a value of the wrong JSON type is an error, never silently coerced
(cattrs would otherwise turn ``5`` into ``"5"`` or a string into a list of characters).
Every failure becomes :class:`ResponseParseError` in :func:`structure`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs

from . import _json
from ._errors import ResponseParseError
from ._models import (
    PageDocument,
    Run,
    RunDefinition,
    RunLogEntry,
    RunLogPage,
    RunPage,
    parse_run,
)
from ._run_document import ABSENT as _ABSENT
from ._run_document import ShapeError as _ShapeError
from ._run_document import json_object as _json_object
from ._run_document import optional_str as _optional_str
from ._run_document import parse_datetime
from ._run_document import str_list as _str_list

__all__ = ["converter", "parse_datetime", "register_model", "structure", "structure_streamed"]

if TYPE_CHECKING:
    import cattrs

    from ._web_input_models import WebInputPage

    converter: cattrs.Converter

M = TypeVar("M")

_built: list[cattrs.Converter] = []  # the converter, once built
_building = threading.Lock()
#: Models registered before the converter was built, with their overrides.
_pending: list[tuple[type[Any], dict[str, Any]]] = []


def __getattr__(name: str) -> Any:
    if name == "converter":
        return _converter()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _converter() -> cattrs.Converter:
    """The converter, built with every hook on first use (by one thread: pages may be
    decoded off the event loop)."""
    if not _built:
        with _building:
            if not _built:
                _built.append(_build())
    return _built[0]


def _strict(kind: type) -> Callable[[Any, Any], Any]:
    def hook(value: Any, _: Any) -> Any:
        # bool is an int subclass: refuse it where a number is expected.
        if isinstance(value, kind) and not (kind is not bool and isinstance(value, bool)):
            return value
        raise _ShapeError(f"expected {kind.__name__}, got {type(value).__name__}")

    return hook


def _flexible_float(value: Any, _: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise _ShapeError(f"expected a number, got {type(value).__name__}")


def register_model(cls: type[M], **overrides: Any) -> None:
    """Generate ``cls``'s structuring function once, keeping the document in ``.raw`` (when the
    converter is built, if it is not yet)."""
    with _building:
        if _built:
            _register(_built[0], cls, overrides)
        else:
            _pending.append((cls, overrides))


def _register(converter: cattrs.Converter, cls: type[M], overrides: dict[str, Any]) -> None:
    from cattrs.gen import make_dict_structure_fn, override

    generated = make_dict_structure_fn(
        cls, converter, raw=override(omit=True), _cattrs_forbid_extra_keys=False, **overrides
    )
    has_raw = "raw" in attrs.fields_dict(cls)  # type: ignore[arg-type]

    def hook(value: Any, _: Any) -> M:
        if not isinstance(value, dict):
            raise _ShapeError(f"expected a JSON object for {cls.__name__}")
        obj = generated(value, cls)
        if has_raw:
            # The models are frozen; .raw is filled here so the mapping stays out of them.
            object.__setattr__(obj, "raw", value)
        return obj

    converter.register_structure_hook(cls, hook)


def _structure_run(value: Any, _: Any = None) -> Run:
    """``Run`` from its document (runs come by the hundred in every page: no generic dispatch)."""
    return parse_run(value)


_RUNS_KEYS: Final = ("runs", "actions")  # ``actions``: the legacy listing's name


def _structure_run_page(value: Any, _: Any = None) -> RunPage:
    """A page of runs: under ``runs``, or under ``actions`` (the legacy listing's name)."""
    if not isinstance(value, dict):
        raise _ShapeError("expected a JSON object for RunPage")
    key = _runs_key(value)
    items = value[key]
    if not isinstance(items, list):
        raise _ShapeError("expected a list of runs")
    return _run_page(value, key, list(map(parse_run, items)))


def _runs_key(page: dict[str, Any]) -> str:
    for key in _RUNS_KEYS:
        if key in page:
            return key
    raise KeyError("runs")


def _run_page(page: dict[str, Any], key: str, runs: list[Run]) -> RunPage:
    """The ``RunPage`` of ``page`` whose runs, under ``key``, are ``runs``."""
    has_next = page.get("has_next_page", False)
    if not isinstance(has_next, bool):
        raise _ShapeError("expected has_next_page to be a bool")
    members = dict(page)
    members[key] = None  # the runs keep their documents; the page, its other members
    return RunPage(
        runs=runs,
        has_next_page=has_next,
        marker=_optional_str(page.get("marker")),
        raw=PageDocument(members, key),  # type: ignore[arg-type]
    )


def _structure_run_page_body(content: bytes) -> RunPage:
    """:func:`_structure_run_page` of the JSON ``content``, its runs decoded and parsed one
    at a time: the page's runs are never all decoded objects at once. ``ValueError`` when
    ``content`` is not a JSON object."""
    page = _json.loads_items(content, _RUNS_KEYS, parse_run)
    key = _runs_key(page)
    runs = page[key]
    if not isinstance(runs, list):
        raise _ShapeError("expected a list of runs")
    return _run_page(page, key, runs)


register_model(RunLogEntry)
register_model(RunLogPage)
register_model(RunDefinition)


def _structure_web_input_page(value: Any, _: Any = None) -> WebInputPage:
    """A page of web inputs; a page without ``has_next_page`` has more when it has a marker."""
    from ._web_input_models import WebInputPage, WebInputSummary

    if not isinstance(value, dict):
        raise _ShapeError("expected a JSON object for WebInputPage")
    items = value.get("web_input_summaries", _ABSENT)
    if items is _ABSENT:
        raise KeyError("web_input_summaries")
    if not isinstance(items, list):
        raise _ShapeError("expected a list of web input summaries")
    marker = _optional_str(value.get("marker"))
    has_next = value.get("has_next_page")
    if has_next is None:
        has_next = marker is not None
    elif not isinstance(has_next, bool):
        raise _ShapeError("expected has_next_page to be a bool")
    return WebInputPage(
        web_inputs=[_converter().structure(item, WebInputSummary) for item in items],
        has_next_page=has_next,
        marker=marker,
        raw=value,
    )


def _build() -> cattrs.Converter:
    """The converter with its strict hooks, the models' and those registered so far."""
    import cattrs

    converter = cattrs.Converter(detailed_validation=False, forbid_extra_keys=False)
    converter.register_structure_hook(str, _strict(str))
    converter.register_structure_hook(int, _strict(int))
    converter.register_structure_hook(bool, _strict(bool))
    converter.register_structure_hook(float, _flexible_float)
    converter.register_structure_hook(datetime, parse_datetime)
    converter.register_structure_hook_func(lambda t: t == list[str], _str_list)
    converter.register_structure_hook_func(lambda t: t == dict[str, Any], _json_object)
    converter.register_structure_hook(Run, _structure_run)
    converter.register_structure_hook(RunPage, _structure_run_page)
    # The web-input models are imported with the converter, not with the package.
    from . import _web_input_models as wim

    for model in (
        wim.WebInputOption,
        wim.WebInputContext,
        wim.WebInputRoles,
        wim.WebInputFlow,
        wim.WebInputRun,
        wim.WebInputSummary,
        wim.WebInput,
    ):
        _register(converter, model, {})
    converter.register_structure_hook(wim.WebInputPage, _structure_web_input_page)
    for cls, overrides in _pending:
        _register(converter, cls, overrides)
    _pending.clear()
    return converter


def structure(data: Any, cls: type[M], *, text: str = "", method: str = "", url: str = "") -> M:
    """Structure decoded JSON into ``cls``, or raise :class:`ResponseParseError`."""
    try:
        return (_built[0] if _built else _converter()).structure(data, cls)
    except ResponseParseError:
        raise
    except Exception as exc:  # any shape problem, including cattrs' own errors
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, KeyError):
            reason = f"missing field {exc}"
        raise ResponseParseError(
            f"unexpected {cls.__name__} document: {reason}", text=text, method=method, url=url
        ) from exc


# Models read from a large body a piece at a time (see ``structure_streamed``).
_STREAMED: Final[dict[type, Callable[[bytes], Any]]] = {RunPage: _structure_run_page_body}


def structure_streamed(content: bytes, cls: type[M]) -> M | None:
    """``cls`` from the JSON ``content`` read a piece at a time (a page of runs: a run at a
    time), for large bodies read in a worker thread; ``None`` when ``cls`` is not read so or
    when ``content`` is anything but the usual document: decoded again with
    :func:`structure`, it then gives the usual result or error.

    Decoded whole, a large page is a million objects: the collections that walk them and
    their freeing hold the interpreter's lock, and so the event loop's thread, for hundreds
    of milliseconds. Read so, a run's decoded objects live only while it is parsed.
    """
    structure_body = _STREAMED.get(cls)
    if structure_body is None:
        return None
    try:
        found: M = structure_body(content)
    except Exception:  # whatever it is, the usual way says it exactly
        return None
    return found
