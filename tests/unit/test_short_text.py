"""The one-line excerpt of a non-JSON error body (``globus_runs._wire._short_text``)."""

from __future__ import annotations

from globus_runs._wire import _EXCERPT, _EXCERPT_SOURCE, _short_text


def test_tags_are_dropped_and_spaces_collapsed() -> None:
    page = "<html><body><h1>502  Bad Gateway</h1>\n<hr><center>nginx</center></body></html>"
    assert _short_text(page) == "502 Bad Gateway nginx"


def test_the_excerpt_depends_on_a_bounded_prefix_only() -> None:
    # A tag left open across 150 KB: only the first characters are looked at, so what closes
    # it far away changes nothing (and the work does not grow with the body).
    opened = "<p>" + "<" * 150_000
    assert _short_text(opened + "</p>one") == _short_text(opened + "</p>two") == "<" * _EXCERPT


def test_text_past_the_prefix_never_reaches_the_excerpt() -> None:
    text = " " * _EXCERPT_SOURCE + "late"
    assert _short_text(text) == ""


def test_a_run_of_angle_brackets_is_kept_as_text() -> None:
    assert _short_text("<<<<b>bold</b>") == "<<< bold"
