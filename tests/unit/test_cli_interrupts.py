"""Ctrl-C at a precise point of a command (raised from inside the command line's display,
progress or results file): every command exits 130 and says what was left and how to go on."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from globus_runs.cli import _runs
from globus_runs.cli._app import cli
from globus_runs.cli._config import Settings
from globus_runs.cli._feedback import WaitDisplay
from globus_runs.cli._progress import BatchProgress
from globus_runs.cli._results import ResultsWriter
from globus_runs.flows import WaitProgress
from globus_runs.testing import FakeClock, FakeGlobus, asgi_transport
from tests.cli.conftest import PLAIN_OUTPUT, START, Invoke, parse_json
from tests.cli.test_batch_reporting import read_records


@pytest.fixture
def fake() -> FakeGlobus:
    """The emulator on a manual clock."""
    return FakeGlobus(clock=FakeClock(START))


@pytest.fixture
def invoke(fake: FakeGlobus) -> Invoke:
    """Run ``globus-runs ARGS...`` in-process, its requests handed to ``fake``'s ASGI app on
    the command's own event loop: a request in flight when the command is interrupted ends
    with it, and none is carried out afterwards by a server left running."""
    settings = Settings(
        token=fake.token,
        flows_url=fake.flows_url,
        timers_url=fake.timers_url,
        auth_url=fake.auth_url,
        transport=asgi_transport(fake.app),
    )

    def invoke(*args: str) -> Result:
        runner = CliRunner(env=PLAIN_OUTPUT)
        return runner.invoke(cli, list(args), obj=settings, catch_exceptions=False)

    return invoke


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """Five runs to start, numbered 1 to 5 (their line numbers)."""
    path = tmp_path / "inputs.jsonl"
    path.write_text(
        "".join(json.dumps({"body": {"n": n}, "label": f"scan {n}"}) + "\n" for n in range(1, 6))
    )
    return path


@pytest.fixture
def interrupted_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wait is interrupted (as by Ctrl-C) once it has shown its first progress."""
    show = WaitDisplay.__call__

    def show_then_interrupt(self: WaitDisplay, progress: WaitProgress) -> None:
        show(self, progress)
        raise KeyboardInterrupt

    monkeypatch.setattr(WaitDisplay, "__call__", show_then_interrupt)


@pytest.mark.usefixtures("interrupted_waits")
def test_ctrl_c_during_runs_wait_says_how_far_it_got_and_how_to_wait_again(
    fake: FakeGlobus, flow_id: str, invoke: Invoke
) -> None:
    run_ids = fake.add_runs(flow_id, 2)

    result = invoke("runs", "wait", *run_ids)

    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == (
        "Interrupted: stopped waiting at 0/2 ended: 2 ACTIVE; the run(s) go on. "
        f"To wait again: globus-runs runs wait {' '.join(run_ids)}"
    )
    assert "Aborted" not in result.output


@pytest.mark.usefixtures("interrupted_waits")
def test_ctrl_c_during_runs_start_wait_names_the_run_started(
    fake: FakeGlobus, flow_id: str, invoke: Invoke
) -> None:
    result = invoke("runs", "start", flow_id, "--wait")

    assert result.exit_code == 130
    [run_id] = fake.runs
    assert result.stderr.splitlines()[-1] == (
        "Interrupted: stopped waiting at 0/1 ended: 1 ACTIVE; the run(s) go on. "
        f"To wait again: globus-runs runs wait {run_id}"
    )


def test_ctrl_c_during_runs_watch_names_the_last_status_and_how_to_follow_again(
    fake: FakeGlobus, flow_id: str, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    emitted: list[dict[str, Any]] = []

    def emit_then_interrupt(document: dict[str, Any]) -> None:
        emitted.append(document)
        raise KeyboardInterrupt

    monkeypatch.setattr(_runs, "emit_json_line", emit_then_interrupt)

    result = invoke("runs", "watch", run_id, "--format", "json")

    assert result.exit_code == 130
    assert [document["event"] for document in emitted] == ["status"]
    assert result.stderr.splitlines()[-1] == (
        f"Interrupted: stopped watching run {run_id} (last seen ACTIVE); the run goes on. "
        f"To follow it again: globus-runs runs watch {run_id}"
    )


@pytest.mark.usefixtures("interrupted_waits")
def test_ctrl_c_during_any_other_wait_exits_130_too(
    fake: FakeGlobus, flow_id: str, invoke: Invoke, tmp_path: Any
) -> None:
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text('{"body": {}}\n')
    output = tmp_path / "results.jsonl"
    assert invoke("batch", "start", flow_id, str(inputs), "-o", str(output)).exit_code == 0

    result = invoke("batch", "wait", str(output))

    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == "Interrupted."


def test_ctrl_c_during_a_start_says_how_to_resume(
    fake: FakeGlobus,
    flow_id: str,
    invoke: Invoke,
    inputs: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    output = tmp_path / "results.jsonl"
    write = ResultsWriter.write
    written: list[dict[str, Any]] = []

    def write_two_then_interrupt(self: ResultsWriter, record: dict[str, Any]) -> None:
        if "intent" not in record:
            if len(written) == 2:
                raise KeyboardInterrupt
            written.append(record)
        write(self, record)

    monkeypatch.setattr(ResultsWriter, "write", write_two_then_interrupt)
    result = invoke("batch", "start", flow_id, str(inputs), "-o", str(output))
    assert result.exit_code == 130
    lines = result.stderr.splitlines()
    assert re.fullmatch(r"Starting runs: interrupted at 2/5, 2 started, 0 failed in .*", lines[0])
    assert lines[-1] == (
        f"Interrupted with 3 line(s) not started: every start sent is recorded in {output}; "
        "run the same command again to start the rest (a start whose answer was lost is "
        "looked up by its request tag, never sent twice)."
    )
    assert len(read_records(output)) == 2

    monkeypatch.setattr(ResultsWriter, "write", write)
    resumed = invoke("batch", "start", flow_id, str(inputs), "-o", str(output), "--format", "json")
    assert parse_json(resumed)["skipped"] == 2
    assert {record["line"] for record in read_records(output)} == {1, 2, 3, 4, 5}


def test_ctrl_c_during_a_cancel_says_how_to_resume(
    fake: FakeGlobus,
    flow_id: str,
    invoke: Invoke,
    inputs: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    output = tmp_path / "results.jsonl"
    invoke("batch", "start", flow_id, str(inputs), "-o", str(output))
    advance = BatchProgress.advance

    def advance_two_then_interrupt(self: BatchProgress, ok: bool) -> None:
        if self.done == 2:
            raise KeyboardInterrupt
        advance(self, ok)

    monkeypatch.setattr(BatchProgress, "advance", advance_two_then_interrupt)
    result = invoke("batch", "cancel", str(output))
    assert result.exit_code == 130
    lines = result.stderr.splitlines()
    assert re.fullmatch(
        r"Canceling runs: interrupted at 2/5, 2 canceled, 0 already ended, 0 failed in .*",
        lines[0],
    )
    assert lines[-1] == (
        "Interrupted: run the same command again to cancel the rest (the runs canceled so far "
        f"then count as already ended): batch cancel {output}"
    )

    # The cancels in flight when interrupted may have been carried out too.
    run_ids = [record["run_id"] for record in read_records(output)]
    ended = sum(fake.get_run_document(run_id)["status"] != "ACTIVE" for run_id in run_ids)
    assert ended >= 2
    monkeypatch.setattr(BatchProgress, "advance", advance)
    again = invoke("batch", "cancel", str(output))
    assert again.exit_code == 0
    assert again.stdout == f"Canceled {5 - ended} run(s); {ended} had already ended; 0 failed.\n"


def test_an_interrupted_batch_resume_resumes_the_rest_when_run_again(
    fake: FakeGlobus, invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow_id = fake.add_flow(duration=1e6, inactive_after=1.0)
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text("".join(json.dumps({"body": {"n": n}}) + "\n" for n in range(6)))
    output = tmp_path / "results.jsonl"
    assert invoke("batch", "start", flow_id, str(inputs), "-o", str(output)).exit_code == 0
    fake.clock.advance(2)  # every run INACTIVE
    advance = BatchProgress.advance

    def advance_two_then_interrupt(self: BatchProgress, ok: bool) -> None:
        if self.ok + self.failed == 2:
            raise KeyboardInterrupt
        advance(self, ok)

    monkeypatch.setattr(BatchProgress, "advance", advance_two_then_interrupt)
    first = invoke("batch", "resume", str(output), "--concurrency", "1")
    assert first.exit_code == 130
    assert first.stderr.splitlines()[-1] == (
        "Interrupted with 3 resume(s) answered: run the same command again to resume the "
        "rest (a run already resumed is no longer INACTIVE and is left alone)."
    )
    monkeypatch.setattr(BatchProgress, "advance", advance)

    again = invoke("batch", "resume", str(output), "--format", "json")

    document = parse_json(again)
    assert len(document["results"]) + document["skipped"] == 6
    assert all(result["ok"] for result in document["results"])
    resumes = Counter(r.path for r in fake.requests if r.path.endswith("/resume"))
    assert sorted(resumes.values()) == [1] * 6  # each run resumed once
