"""What the command line's pieces write: a wait's progress lines, the batch progress bar, a
paused run's explanation, and how a task group's lone error or Ctrl-C is reported."""

from __future__ import annotations

import io
import re

import click
import pytest
from rich.console import Console

from globus_runs import ConnectError, Run, WaitProgress
from globus_runs.cli import _runs
from globus_runs.cli._feedback import WaitDisplay
from globus_runs.cli._options import Failure, run
from globus_runs.cli._progress import BatchProgress

RUN_ID = "00000000-0000-4000-8000-000000000001"
FLOW_ID = "00000000-0000-4000-8000-000000000002"
WEB_INPUT_ID = "00000000-0000-4000-8000-000000000003"


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


@pytest.mark.parametrize("other_label", [None, "already ended"])
def test_the_progress_bar_fits_80_columns(other_label: str | None) -> None:
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=True, color_system=None)
    with BatchProgress(
        console, 1_000_000, description="Canceling runs", ok_label="canceled",
        other_label=other_label,
    ) as bar:  # fmt: skip
        for _ in range(99_999):
            bar.advance(True)
        bar.advance(False)
    frames = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    lines = [line for line in re.split(r"[\r\n]", frames) if line]
    assert lines
    assert max(len(line) for line in lines) <= 80
    assert "100000/1000000" in lines[-2]
    assert lines[-1].strip() == ", ".join(
        ["99999 canceled", *([f"0 {other_label}"] if other_label else []), "1 failed"]
    )


def test_a_paused_run_waiting_for_a_web_input_names_the_commands_that_answer_it() -> None:
    run = Run(
        run_id=RUN_ID,
        flow_id=FLOW_ID,
        status="INACTIVE",
        blocking_web_input_id=WEB_INPUT_ID,
        details={"code": "WaitingForInput"},
    )
    assert _runs.pause_lines(run) == [
        f"Run {RUN_ID} is INACTIVE (WaitingForInput).",
        f"  It waits for web input {WEB_INPUT_ID}: globus-runs runs inputs show "
        f"{WEB_INPUT_ID}, then globus-runs runs inputs respond {WEB_INPUT_ID} --option N",
    ]
