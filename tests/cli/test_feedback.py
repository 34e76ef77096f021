"""What the command line says on stderr while it works: each retry, and a wait's progress."""

from __future__ import annotations

import re

from globus_runs.testing import FakeGlobus

from .conftest import Invoke

RETRY_LINE = re.compile(r"GET (\S+): 503 SERVICE_UNAVAILABLE: .*; retry (\d) of 5 in \d+\.\d s")


def test_each_retry_is_one_line_on_stderr(fake: FakeGlobus, flow_id: str, invoke: Invoke) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    fake.faults.add("503", route=f"/flows/runs/{run_id}", count=2)
    result = invoke("runs", "show", run_id, "--format", "json")
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 2
    matches = [RETRY_LINE.fullmatch(line) for line in lines]
    assert all(matches), lines
    assert [m.group(2) for m in matches if m] == ["1", "2"]
    assert {m.group(1) for m in matches if m} == {f"{fake.flows_url}runs/{run_id}"}


def test_a_request_that_succeeds_at_once_prints_nothing_on_stderr(
    fake: FakeGlobus, flow_id: str, invoke: Invoke
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    result = invoke("runs", "show", run_id, "--format", "json")
    assert result.exit_code == 0
    assert result.stderr == ""


def test_runs_wait_shows_how_many_ended_by_status(
    fake: FakeGlobus, flow_id: str, failing_flow_id: str, invoke: Invoke
) -> None:
    [good] = fake.add_runs(flow_id, 1)
    [bad] = fake.add_runs(failing_flow_id, 1)
    fake.clock.advance(60)
    result = invoke("runs", "wait", good, bad, "--format", "json")
    assert result.exit_code == 3
    assert result.stderr == "Waiting: 2/2 ended: 1 FAILED, 1 SUCCEEDED\n"


def test_a_wait_that_times_out_shows_its_progress_once(
    fake: FakeGlobus, flow_id: str, invoke: Invoke
) -> None:
    run_ids = fake.add_runs(flow_id, 3)
    result = invoke(
        "runs", "wait", *run_ids, "--timeout", "2", "--poll-interval", "0.05", "--format", "json"
    )
    assert result.exit_code == 4
    # The runs never end (the clock stands still): one line, not one per poll.
    assert result.stderr.splitlines() == [
        "Waiting: 0/3 ended: 3 ACTIVE",
        "Gave up after 2.0 s: 3 of 3 run(s) not ended.",
    ]
