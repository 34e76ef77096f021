"""How the emulator's serve command reads its arguments (faults, clients) and describes its
sample flows, and how its faults write ``Retry-After``: without a server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from globus_runs.testing import FlowBehavior
from globus_runs.testing._faults import format_retry_after
from globus_runs.testing._serve import describe_behavior, parse_client, parse_fault

CLIENT_ID = "8f8a1e4c-4c5c-4d1e-9d5c-2a7e1d2b3c4d"


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("503", ("503", 1.0, "*")),
        ("429:0.25", ("429", 0.25, "*")),
        ("reset_after:0.1:/flows/flows/*/run", ("reset_after", 0.1, "/flows/flows/*/run")),
        ("slow::/timers/**", ("slow", 1.0, "/timers/**")),
    ],
)
def test_fault_specs_parse(spec: str, parsed: tuple[str, float, str]) -> None:
    assert parse_fault(spec) == parsed


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("418", "unknown fault kind"),
        ("503:often", "not a number"),
        ("503:1.5", "not within 0..1"),
        ("", "unknown fault kind"),
    ],
)
def test_bad_fault_specs_are_refused(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_fault(spec)


def test_a_client_spec_keeps_colons_in_the_secret_and_normalises_the_id() -> None:
    assert parse_client(f"{CLIENT_ID.upper()}:se:cret") == (CLIENT_ID, "se:cret")


@pytest.mark.parametrize(
    ("behavior", "words"),
    [
        (FlowBehavior(duration=3), "succeeds 3 s after it starts"),
        (
            FlowBehavior(duration=2.5, outcome="ENDED", failure_code="Stopped"),
            "ends (Stopped) 2.5 s after it starts",
        ),
        (
            FlowBehavior(duration=10, outcome="FAILED", inactive_after=4),
            "goes INACTIVE (ConsentRequired) 4 s after it starts; once resumed, "
            "fails (ActionFailedException) 6 s later",
        ),
    ],
)
def test_a_flow_behavior_is_described_in_words(behavior: FlowBehavior, words: str) -> None:
    assert describe_behavior(behavior) == words


@pytest.mark.parametrize(
    ("seconds", "http_date", "expected"),
    [
        (2, False, "2"),
        (0.25, False, "0.25"),
        (30, True, "Sun, 01 Mar 2026 12:00:31 GMT"),
        (0.5, True, "Sun, 01 Mar 2026 12:00:01 GMT"),
    ],
)
def test_retry_after_values(seconds: float, http_date: bool, expected: str) -> None:
    now = datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)
    assert format_retry_after(seconds, http_date=http_date, now=now) == expected
