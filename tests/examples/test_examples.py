"""The examples run against ``python -m globus_runs.testing serve`` and do what they say."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from examples import batch_driver, timer_runs, watch_run
from examples._connect import Connection
from globus_runs.testing import serve_in_subprocess

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def emulator() -> Iterator[dict[str, Any]]:
    """A served emulator whose clock runs 120 times faster: a timer's minute is half a second."""
    with serve_in_subprocess(speed=120.0) as info:
        yield info


@pytest.fixture
def line(emulator: dict[str, Any]) -> str:
    """The emulator's startup line, as ``--emulator`` takes it."""
    return json.dumps(emulator)


async def test_the_batch_driver_starts_waits_and_reports(
    emulator: dict[str, Any], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    report = await batch_driver.main(
        ["--emulator", line, "--count", "25", "--poll-interval", "0.1"]
    )
    assert sorted(report.runs) == list(range(25))
    assert {run.status for run in report.runs.values()} == {"SUCCEEDED"}
    assert report.failures == {}
    assert capsys.readouterr().out.startswith(
        "25 run(s) started, 0 input(s) failed to start; final statuses: 25 SUCCEEDED;"
    )


async def test_the_batch_driver_reports_failed_starts_and_failed_runs(
    emulator: dict[str, Any],
) -> None:
    connection = Connection.from_emulator(json.dumps(emulator))
    failing = emulator["flow_ids"][1]
    inputs: list[dict[str, Any]] = [{"n": 1}, {"n": 2}]
    async with connection.flows() as flows:
        report = await batch_driver.drive(flows, failing, inputs, poll_interval=0.1)
        missing = await batch_driver.drive(
            flows, "00000000-0000-4000-8000-000000000000", inputs, poll_interval=0.1
        )
    assert [run.status for run in report.runs.values()] == ["FAILED", "FAILED"]
    assert "2 FAILED" in report.summary()
    assert sorted(missing.failures) == [0, 1]
    assert missing.failures[0].startswith("FlowNotFoundError: ")


async def test_watch_run_follows_a_new_run_to_its_end(
    line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await watch_run.main(["--emulator", line, "--poll-interval", "0.05"]) == "SUCCEEDED"
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("started ")
    assert out[1] == "status: - -> ACTIVE"
    assert "FlowSucceeded" in out[-2]
    assert out[-1] == "status: ACTIVE -> SUCCEEDED"


async def test_watch_run_shows_why_a_run_failed(
    emulator: dict[str, Any], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    failing = emulator["flow_ids"][1]
    args = ["--emulator", line, "--flow-id", failing, "--poll-interval", "0.05"]
    assert await watch_run.main(args) == "FAILED"
    assert "The sample action failed on purpose" in capsys.readouterr().out


async def test_timer_runs_creates_a_timer_and_lists_its_runs(
    line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = await timer_runs.main(["--emulator", line, "--runs", "3", "--poll-interval", "0.1"])
    assert len(runs) >= 3
    assert {run.timer_id for run in runs} == {runs[0].timer_id}
    out = capsys.readouterr().out
    assert "created timer" in out
    assert "run_timer started" in out
    # The timer is deleted afterwards (the deletion takes the service a few seconds).
    async with Connection.from_emulator(line).timers() as timers:
        left = {t.timer_id: t.status for t in await timers.list_timers()}
    assert left.get(runs[0].timer_id, "deleted") in {"delete_in_progress", "deleted"}


def test_an_example_runs_as_a_module_from_a_file_holding_the_startup_line(
    line: str, tmp_path: Path
) -> None:
    startup = tmp_path / "emulator.json"
    startup.write_text(line + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "examples.batch_driver", "--emulator", str(startup), "--count", "5"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "5 run(s) started" in done.stdout


def test_without_an_emulator_the_examples_read_the_environment(
    emulator: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GLOBUS_RUNS_TOKEN", emulator["token"])
    monkeypatch.setenv("GLOBUS_RUNS_FLOWS_URL", emulator["flows_url"])
    monkeypatch.delenv("GLOBUS_RUNS_TIMERS_URL", raising=False)
    connection = Connection.from_args(argparse.Namespace(emulator=None))
    assert (connection.token, connection.flows_url, connection.timers_url) == (
        emulator["token"],
        emulator["flows_url"],
        None,
    )
