"""What the command line says on stderr while it works: each retry, and a wait's progress."""

from __future__ import annotations

import io
import re

import click
import pytest
from rich.console import Console

from globus_runs import ConnectError, WaitProgress
from globus_runs.cli._feedback import WaitDisplay
from globus_runs.cli._options import Failure, run
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
        "runs", "wait", *run_ids, "--timeout", "0.2", "--poll-interval", "0.05", "--format", "json"
    )
    assert result.exit_code == 4
    # The runs never end (the clock stands still): one line, not one per poll.
    assert result.stderr.splitlines() == [
        "Waiting: 0/3 ended: 3 ACTIVE",
        "Gave up after 0.2 s: 3 of 3 run(s) not ended.",
    ]


def _progress(done: int, counts: dict[str, int]) -> WaitProgress:
    return WaitProgress(done=done, total=sum(counts.values()), counts=counts)


def test_the_display_prints_a_line_per_change_when_not_a_terminal() -> None:
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=False)
    with WaitDisplay(console) as display:
        display(_progress(0, {"ACTIVE": 3}))
        display(_progress(0, {"ACTIVE": 3}))
        display(_progress(1, {"ACTIVE": 2, "SUCCEEDED": 1}))
        display(_progress(3, {"FAILED": 1, "SUCCEEDED": 2}))
    assert out.getvalue().splitlines() == [
        "Waiting: 0/3 ended: 3 ACTIVE",
        "Waiting: 1/3 ended: 2 ACTIVE, 1 SUCCEEDED",
        "Waiting: 3/3 ended: 1 FAILED, 2 SUCCEEDED",
    ]


def test_the_display_on_a_terminal_leaves_the_last_progress_behind() -> None:
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=True, color_system=None)
    with WaitDisplay(console) as display:
        display(_progress(1, {"ACTIVE": 1, "SUCCEEDED": 1}))
        display(_progress(2, {"SUCCEEDED": 2}))
    assert out.getvalue().rstrip().endswith("Waiting: 2/2 ended: 2 SUCCEEDED")


def test_a_lone_library_error_in_an_exception_group_is_one_line() -> None:
    async def main() -> None:
        refused = ConnectError("could not connect", method="GET", url="http://127.0.0.1:1/runs")
        raise ExceptionGroup("a task group", [ExceptionGroup("nested", [refused])])

    with pytest.raises(Failure) as raised:
        run(main)
    assert raised.value.message == "ConnectError: GET http://127.0.0.1:1/runs: could not connect"
    assert raised.value.exit_code == 1


def test_ctrl_c_in_an_exception_group_says_how_to_resume(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def main() -> None:
        raise BaseExceptionGroup("a task group", [KeyboardInterrupt()])

    with pytest.raises(click.exceptions.Exit) as raised:
        run(main, interrupted="Interrupted: run it again.")
    assert raised.value.exit_code == 130
    assert capsys.readouterr().err == "\nInterrupted: run it again.\n"
