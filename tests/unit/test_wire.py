"""Pure request-building helpers: ids, query encoding, base URLs, Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from globus_runs import ConfigurationError, InvalidIdError, InvalidRequestError
from globus_runs._wire import (
    check_base_url,
    encode_query,
    id_segment,
    json_body,
    parse_retry_after,
    time_range,
)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "a/b",
        "a?b",
        "a#b",
        "a b",
        "a\tb",
        "..",
        ".",
        "a..b",
        "x" * 257,
        "a\\b",
        "a\nb",
        "not-a-uuid",
        "36ad9f9a-ad29-488f-beb4-c22ab729643a\n",
        "36ad9f9a-ad29-488f-beb4-c22ab729643a/..",
        "36ad9f9aad29488fbeb4c22ab729643a",
        "{36ad9f9a-ad29-488f-beb4-c22ab729643a}",
        "36ad9f9a-ad29-488f-beb4-c22ab72964\u0663\u0663",
        "36ad9f9a-ad29-488f-beb4-c22ab729643\ud800",
    ],
)
def test_implausible_ids_are_rejected(bad: str) -> None:
    with pytest.raises(InvalidIdError):
        id_segment(bad, "run_id")


def test_non_string_id_is_rejected() -> None:
    with pytest.raises(InvalidIdError, match="run_id must be a str, not int"):
        id_segment(42, "run_id")


def test_a_uuid_is_accepted_as_given() -> None:
    assert id_segment("36ad9f9a-ad29-488f-beb4-c22ab729643a") == (
        "36ad9f9a-ad29-488f-beb4-c22ab729643a"
    )
    assert id_segment("36AD9F9A-AD29-488F-BEB4-C22AB729643A") == (
        "36AD9F9A-AD29-488F-BEB4-C22AB729643A"
    )


def test_a_lone_surrogate_id_is_an_invalid_id_error_with_a_printable_message() -> None:
    with pytest.raises(InvalidIdError) as info:
        id_segment("\ud800", "flow_id")
    assert str(info.value) == "flow_id '\\ud800' is not a valid id (a UUID)"


def test_query_leaves_out_none_and_joins_lists_with_commas() -> None:
    query = encode_query(
        {
            "filter_status": ["ACTIVE", "INACTIVE"],
            "filter_label": None,
            "filter_flow_id": "f1",
            "per_page": 50,
            "reverse_order": True,
            "other": False,
        }
    )
    assert query == (
        ("filter_status", "ACTIVE,INACTIVE"),
        ("filter_flow_id", "f1"),
        ("per_page", "50"),
        ("reverse_order", "true"),
        ("other", "false"),
    )


def test_query_refuses_a_sequence_of_non_strings() -> None:
    with pytest.raises(InvalidRequestError, match="filter_status"):
        encode_query({"filter_status": [1, 2]})  # type: ignore[list-item]


def test_time_range_is_half_open_and_either_end_may_be_open() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = datetime(2026, 1, 2, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    assert time_range((start, end), "t") == "2026-01-01T00:00:00+00:00,2026-01-02T12:30:00+02:00"
    assert time_range((start, None), "t") == "2026-01-01T00:00:00+00:00,"
    assert time_range((None, start), "t") == ",2026-01-01T00:00:00+00:00"
    assert time_range((None, None), "t") is None
    assert time_range(None, "t") is None


def test_time_range_refuses_naive_datetimes_and_non_pairs() -> None:
    with pytest.raises(InvalidRequestError, match="timezone-aware"):
        time_range((datetime(2026, 1, 1), None), "filter_start_time")
    with pytest.raises(InvalidRequestError, match="pair"):
        time_range((None,), "filter_start_time")  # type: ignore[arg-type]


def test_json_body_turns_unserializable_values_into_a_typed_error() -> None:
    assert json_body({"a": [1, "x"]}) == b'{"a":[1,"x"]}'
    with pytest.raises(InvalidRequestError, match="not JSON serializable"):
        json_body({"a": object()})


@pytest.mark.parametrize(
    "url",
    [
        "https://flows.automate.globus.org",
        "http://127.0.0.1:8000/flows/",
        "http://localhost/flows",
        "http://[::1]:9000",
        "http://127.8.9.10",
    ],
)
def test_https_or_loopback_base_urls_are_accepted(url: str) -> None:
    assert check_base_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://flows.example.org",
        "http://10.0.0.1",
        "ftp://localhost",
        "flows.org",
        "https://x/?a=1",
    ],
)
def test_cleartext_to_remote_hosts_and_odd_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError):
        check_base_url(url)


def test_retry_after_in_seconds_and_as_http_date() -> None:
    now = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("Sun, 22 Nov 2026 10:00:30 GMT", now) == 30.0
    assert parse_retry_after("Sun, 22 Nov 2026 09:00:00 GMT", now) == 0.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("nan") is None


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pa55word-SECRET@flows.example.org",
        "https://pa55word-SECRET@flows.example.org/api",
        "http://user:pa55word-SECRET@127.0.0.1:8000",
        "https://user:pa55word-SECRET@flows.example.org:bad port",  # refused before any other
    ],
)
def test_credentials_in_a_base_url_are_refused_without_quoting_them(url: str) -> None:
    with pytest.raises(ConfigurationError, match="must not carry credentials") as caught:
        check_base_url(url)
    assert "SECRET" not in str(caught.value)


def test_an_at_sign_after_the_host_is_not_taken_for_credentials() -> None:
    assert check_base_url("https://flows.example.org/a@b") == "https://flows.example.org/a@b"
