"""Ctrl-C: every command exits 130 and says what was left and how to go on."""

from __future__ import annotations

from typing import Any

import pytest

from globus_runs.cli import _runs
from globus_runs.cli._feedback import WaitDisplay
from globus_runs.flows import WaitProgress
from globus_runs.testing import FakeGlobus

from .conftest import Invoke


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
