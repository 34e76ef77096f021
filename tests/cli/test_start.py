"""``globus-runs runs start FLOW_ID``: one run, its options, and --wait."""

from __future__ import annotations

from pathlib import Path

from globus_runs.testing import FakeGlobus

from .conftest import Invoke, parse_json

MANAGER = "urn:globus:auth:identity:11111111-1111-4111-8111-111111111111"
MONITOR = "urn:globus:groups:id:22222222-2222-4222-8222-222222222222"


def test_start_sends_every_option_and_prints_the_run_document(
    fake: FakeGlobus, flow_id: str, invoke: Invoke
) -> None:
    result = invoke(
        "runs", "start", flow_id,
        "--input", '{"src": "/data", "n": 3}',
        "--label", "scan 42",
        "--tag", "beam", "--tag", "night",
        "--manager", MANAGER,
        "--monitor", MONITOR,
        "--activity-notification-policy", "inactive",
        "--activity-notification-policy", "FAILED",
        "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [request] = fake.requests
    assert (request.method, request.path) == ("POST", f"/flows/{flow_id}/run")
    assert request.json == {
        "body": {"src": "/data", "n": 3},
        "label": "scan 42",
        "tags": ["beam", "night"],
        "run_monitors": [MONITOR],
        "run_managers": [MANAGER],
        "activity_notification_policy": {"status": ["INACTIVE", "FAILED"]},
    }
    document = parse_json(result)
    assert document == fake.get_run_document(document["run_id"])


def test_start_without_input_sends_an_empty_object(
    fake: FakeGlobus, flow_id: str, invoke: Invoke
) -> None:
    result = invoke("runs", "start", flow_id)
    assert result.exit_code == 0, result.output
    assert fake.requests[0].json == {"body": {}}
    [run_id] = fake.runs
    assert run_id in result.stdout
    assert "ACTIVE" in result.stdout


def test_start_reads_the_input_from_a_file(
    fake: FakeGlobus, flow_id: str, invoke: Invoke, tmp_path: Path
) -> None:
    path = tmp_path / "input.json"
    path.write_text('{"from": "file"}')
    assert invoke("runs", "start", flow_id, "--input", f"@{path}").exit_code == 0
    assert fake.requests[0].json == {"body": {"from": "file"}}


def test_start_reads_the_input_from_stdin(fake: FakeGlobus, flow_id: str, invoke: Invoke) -> None:
    result = invoke("runs", "start", flow_id, "--input", "-", input='{"from": "stdin"}')
    assert result.exit_code == 0, result.output
    assert fake.requests[0].json == {"body": {"from": "stdin"}}


def test_an_input_that_is_not_a_json_object_is_a_usage_error(
    fake: FakeGlobus, flow_id: str, invoke: Invoke, tmp_path: Path
) -> None:
    bad = invoke("runs", "start", flow_id, "--input", '{"a": ')
    assert bad.exit_code == 2
    assert "the input is not JSON: Expecting value (line 1, column 7)" in bad.stderr
    listed = invoke("runs", "start", flow_id, "--input", "[1]")
    assert listed.exit_code == 2
    assert "the input must be a JSON object" in listed.stderr
    missing = invoke("runs", "start", flow_id, "--input", f"@{tmp_path / 'none.json'}")
    assert missing.exit_code == 2
    assert f"cannot read {tmp_path / 'none.json'}" in missing.stderr
    assert fake.requests == []


def test_start_and_wait_exits_as_runs_wait(fake: FakeGlobus, invoke: Invoke) -> None:
    fails_at_once = fake.add_flow(duration=0.0, outcome="FAILED")
    result = invoke("runs", "start", fails_at_once, "--wait", "--format", "json")
    assert result.exit_code == 3, result.output
    [run_id] = fake.runs
    assert parse_json(result) == {
        "runs": [fake.get_run_document(run_id)],
        "all_succeeded": False,
        "timed_out": False,
    }
    assert result.stderr == f"Started run {run_id}; waiting for it.\n"
    # The start's own answer showed the run ended: no look-up follows.
    assert [(r.method, r.path) for r in fake.requests] == [("POST", f"/flows/{fails_at_once}/run")]


def test_start_and_wait_gives_up_after_the_timeout(
    fake: FakeGlobus, flow_id: str, invoke: Invoke
) -> None:
    result = invoke(
        "runs", "start", flow_id, "--wait", "--timeout", "0.1", "--poll-interval", "0.05"
    )
    assert result.exit_code == 4
