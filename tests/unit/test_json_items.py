"""``_json.loads_items``: a JSON object decoded as ``loads`` decodes it, the items of chosen
arrays decoded and converted one at a time."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from globus_runs import _json

BOUNDED = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)
_PAGES = st.fixed_dictionaries(
    {"runs": st.lists(_VALUES, max_size=5)},
    optional={"has_next_page": st.booleans(), "marker": st.text(max_size=8), "other": _VALUES},
)


def _same(value: Any) -> Any:
    return value


@BOUNDED
@given(page=_PAGES, ascii_only=st.booleans(), spaced=st.booleans())
def test_an_object_reads_as_loads_reads_it(
    page: dict[str, Any], ascii_only: bool, spaced: bool
) -> None:
    text = json.dumps(page, ensure_ascii=ascii_only, indent=1 if spaced else None).encode()
    assert _json.loads_items(text, {"runs"}, _same) == _json.loads(text)


@pytest.mark.parametrize(
    "item",
    [
        "NaN",
        "-Infinity",
        "1e400",
        "123456789012345678901234567890",
        '"\\ud800"',
        '"\\ud83d\\ude00 \\u00e9"',
        '{"\\u00e9": [1, 2.5, "x"]}',
        "-0.0",
    ],
)
def test_a_value_the_standard_decoder_reads_otherwise_reads_as_loads_reads_it(item: str) -> None:
    text = f'{{"runs": [1, {item}, 3], "marker": {item}}}'.encode()
    try:
        expected = _json.loads(text)
    except ValueError:
        with pytest.raises(ValueError):  # noqa: PT011 - loads' own error, whichever it is
            _json.loads_items(text, {"runs"}, _same)
    else:
        assert repr(_json.loads_items(text, {"runs"}, _same)) == repr(expected)


@pytest.mark.parametrize("window", [1, 5, 2**20])
def test_a_value_longer_than_the_window_reads_whole(
    monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    monkeypatch.setattr(_json, "_WINDOW", window)
    text = '{"runs": [12345, "' + "é✓" * 5000 + '", [1.5e3, true, null]], "n": 67890}'
    assert _json.loads_items(text.encode(), {"runs"}, _same) == json.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[1]",
        '{"runs": [1,]}',
        '{"runs": [1 2]}',
        '{"runs": [1]',
        '{"runs": [1]} x',
        '{"runs" [1]}',
        "{runs: [1]}",
        '{"a": 1,}',
        '{"a": 1 "b": 2}',
        '{"runs": [{"a": 1]}',
        '{"runs": [1]}\ufeff',
        '\ufeff{"runs": [1]}',
        '{"runs": [tru]}',
        '{"runs": [1.]}',
    ],
)
@pytest.mark.parametrize("window", [1, 2**20])
def test_anything_but_a_json_object_is_a_value_error(
    monkeypatch: pytest.MonkeyPatch, text: str, window: int
) -> None:
    monkeypatch.setattr(_json, "_WINDOW", window)
    with pytest.raises(ValueError):  # noqa: PT011 - the caller decodes it again for the error
        _json.loads_items(text.encode(), {"runs"}, _same)


def test_each_item_is_converted_before_the_next_is_decoded() -> None:
    converted: list[Any] = []
    text = b'{"runs": [{"n": 1}, {"n": 2}, {"n": oops}]}'
    with pytest.raises(ValueError):  # noqa: PT011
        _json.loads_items(text, {"runs"}, converted.append)
    assert converted == [{"n": 1}, {"n": 2}]


def test_only_the_named_arrays_are_converted() -> None:
    text = b'{"runs": [1, 2], "other": [3], "runs_too": [4]}'
    assert _json.loads_items(text, {"runs"}, str) == {
        "runs": ["1", "2"],
        "other": [3],
        "runs_too": [4],
    }


def test_a_named_member_that_is_not_an_array_is_decoded_as_it_is() -> None:
    assert _json.loads_items(b'{"runs": {"a": [1]}}', {"runs"}, str) == {"runs": {"a": [1]}}


def test_a_body_that_is_not_utf8_is_a_value_error() -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        _json.loads_items(b'{"runs": ["\xff"]}', {"runs"}, _same)


def test_text_of_decodes_characters_split_across_chunks() -> None:
    body = ("é" * (2**20)).encode()  # two bytes each: chunks end mid-character
    assert _json.text_of(body) == "é" * (2**20)
    with pytest.raises(UnicodeDecodeError):
        _json.text_of(body[:-1])
