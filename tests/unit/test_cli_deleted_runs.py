"""``batch wait`` when a recorded run was deleted: reported by line and run id, exit 3.

The run is confirmed missing at once here, not after the tracker's minute of real time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from globus_runs.flows import _tracker
from globus_runs.testing import FakeClock, FakeGlobus
from tests.cli.conftest import START, Invoke, parse_json, serving


@pytest.fixture
def fake() -> FakeGlobus:
    """The emulator on a manual clock, served on loopback to the command line by `invoke`."""
    return FakeGlobus(clock=FakeClock(START))


@pytest.fixture
def invoke(fake: FakeGlobus) -> Iterator[Invoke]:
    """Run ``globus-runs ARGS...`` against ``fake``, configured by the environment."""
    with serving(fake) as invoke:
        yield invoke


@pytest.fixture(autouse=True)
def confirm_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run unseen for a few polls is confirmed without waiting a minute as well."""
    monkeypatch.setattr(_tracker, "MISSING_AFTER", 0.0)


def started(fake: FakeGlobus, flow_id: str, invoke: Invoke, tmp_path: Path) -> tuple[Path, str]:
    """Three runs started by ``batch start``; the run of line 2 ended and was deleted."""
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text("".join(json.dumps({"body": {"n": n}}) + "\n" for n in range(1, 4)))
    output = tmp_path / "results.jsonl"
    assert invoke("batch", "start", flow_id, str(inputs), "-o", str(output)).exit_code == 0
    records = [json.loads(line) for line in output.read_text().splitlines()]
    deleted = next(r["run_id"] for r in records if r["line"] == 2 and "run_id" in r)
    fake.clock.advance(60)
    assert invoke("runs", "delete", deleted).exit_code == 0
    return output, deleted


def test_a_deleted_run_is_reported_by_line_and_id(
    fake: FakeGlobus, flow_id: str, invoke: Invoke, tmp_path: Path
) -> None:
    output, deleted = started(fake, flow_id, invoke, tmp_path)
    result = invoke("batch", "wait", str(output), "--poll-interval", "0.01")
    assert result.exit_code == 3, result.output
    assert f"line 2: run {deleted} not found" in result.stderr
    assert "2 run(s): 2 SUCCEEDED" in result.stdout


def test_a_deleted_run_in_the_json_output(
    fake: FakeGlobus, flow_id: str, invoke: Invoke, tmp_path: Path
) -> None:
    output, deleted = started(fake, flow_id, invoke, tmp_path)
    result = invoke("batch", "wait", str(output), "--poll-interval", "0.01", "--format", "json")
    assert result.exit_code == 3, result.output
    document = parse_json(result)
    assert document["all_succeeded"] is False
    assert document["not_found"] == [{"line": 2, "run_id": deleted}]
    assert [run["status"] for run in document["runs"]] == ["SUCCEEDED", "SUCCEEDED"]
