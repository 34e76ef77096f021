"""Exactly-once starts whose look-up fails too: the look-up, a read, is tried again."""

from __future__ import annotations

import pytest

from globus_runs import ResponseParseError, RetryPolicy
from globus_runs.testing import FakeGlobus

pytestmark = pytest.mark.anyio

START = "/flows/flows/*/run"
LOOK_UP = "/flows/runs"


def _exactly_once(max_retries: int = 5) -> RetryPolicy:
    return RetryPolicy(
        backoff_initial=0.001, backoff_max=0.002, max_retries=max_retries, exactly_once_starts=True
    )


async def test_an_unreadable_look_up_is_tried_again_until_it_finds_the_run(
    fake: FakeGlobus, flow_id: str
) -> None:
    fake.faults.add("malformed", route=START, count=1)
    fake.faults.add("truncated", route=LOOK_UP, method="GET", count=2)
    async with fake.flows_client(retry=_exactly_once()) as flows:
        run = await flows.run_flow(flow_id, {"x": 1}, label="scan")
    assert list(fake.runs) == [run.run_id]
    assert [(r.method, r.path, r.fault) for r in fake.requests] == [
        ("POST", f"/flows/{flow_id}/run", "malformed"),
        ("GET", "/runs", "truncated"),
        ("GET", "/runs", "truncated"),
        ("GET", "/runs", None),
    ]


async def test_a_look_up_that_keeps_failing_raises_the_starts_own_error(
    fake: FakeGlobus, flow_id: str
) -> None:
    fake.faults.add("malformed", route=START, count=1, body={"started": "maybe"})
    fake.faults.add("truncated", route=LOOK_UP, method="GET")
    async with fake.flows_client(retry=_exactly_once(max_retries=2)) as flows:
        with pytest.raises(ResponseParseError) as caught:
            await flows.run_flow(flow_id, {"x": 1})
    assert "maybe" in caught.value.text  # the start's answer, not the look-up's
    assert [r.method for r in fake.requests] == ["POST", "GET", "GET", "GET"]
    assert len(fake.runs) == 1  # started once, never sent again
