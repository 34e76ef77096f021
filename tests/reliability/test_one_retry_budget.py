"""An exactly-once start has one retry budget, whatever failed: the retries spent sending it
count against the look-ups after an answer that cannot be read, and its ``attempts`` counts
every time it was sent."""

from __future__ import annotations

import pytest

from globus_runs import ResponseParseError, RetryEvent, RetryPolicy
from globus_runs.testing import FakeGlobus

pytestmark = pytest.mark.anyio

START = "/flows/flows/*/run"
LOOK_UP = "/flows/runs"


async def test_look_ups_after_an_unreadable_start_share_the_starts_retry_budget(
    fake: FakeGlobus, flow_id: str
) -> None:
    fake.faults.add("429", route=START, count=1, retry_after=None)
    fake.faults.add("malformed", route=START, count=1)
    fake.faults.add("truncated", route=LOOK_UP, method="GET")
    events: list[RetryEvent] = []
    policy = RetryPolicy(
        backoff_initial=0.001,
        backoff_max=0.002,
        max_retries=2,
        exactly_once_starts=True,
        on_retry=events.append,
    )
    async with fake.flows_client(retry=policy) as flows:
        with pytest.raises(ResponseParseError) as caught:
            await flows.run_flow(flow_id, {"x": 1})
    # Retry 1 sent the start again; retry 2 repeated the look-up; then none was left.
    assert [(r.method, r.fault) for r in fake.requests] == [
        ("POST", "429"),
        ("POST", "malformed"),
        ("GET", "truncated"),
        ("GET", "truncated"),
    ]
    assert [(event.method, event.attempt) for event in events] == [("POST", 1), ("POST", 2)]
    assert caught.value.attempts == 2  # the start was sent twice
    assert len(fake.runs) == 1
