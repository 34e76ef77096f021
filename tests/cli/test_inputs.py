"""``runs inputs``, ``runs resume``, ``batch resume``, ``runs watch``: runs waiting for people."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from globus_runs.testing import FakeClock, FakeGlobus
from tests.auth._support import flow_scope

from .conftest import START, Invoke, parse_json, serving

APPROVE = "0f8b2c6d-4e19-4a73-8d52-b6e1c9a03f74"
REJECT = "9c3e7a15-b0d4-4f62-a8e9-5d1b7c4f2e06"
QUESTION = {
    "title": "Archive scan batch?",
    "text": "All scans passed quality control.",
    "after": 2.0,
    "options": [
        {"option_id": APPROVE, "label": "Approve", "description": "Archive them."},
        {"option_id": REJECT, "label": "Reject", "description": "Stop.", "outcome": "FAILED"},
    ],
}


@pytest.fixture
def approval_flow(fake: FakeGlobus) -> str:
    """Runs wait 2 s in for an answer; Approve: they succeed, Reject: they fail."""
    return fake.add_flow(title="Archive", duration=10.0, web_input=QUESTION)


def _waiting(fake: FakeGlobus, flow_id: str, n: int = 1) -> list[tuple[str, str]]:
    run_ids = fake.add_runs(flow_id, n, label="batch {i}")
    fake.clock.advance(3)
    return [(run_id, fake.web_input_of(run_id) or "") for run_id in run_ids]


def test_inputs_lists_the_open_inputs_of_a_run_as_json(
    fake: FakeGlobus, approval_flow: str, invoke: Invoke
) -> None:
    [(run_id, web_input_id), _] = _waiting(fake, approval_flow, 2)
    result = invoke("runs", "inputs", "--run", run_id, "--state", "open", "--format", "json")
    assert result.exit_code == 0, result.output
    [summary] = parse_json(result)["web_inputs"]
    assert (summary["id"], summary["status"], summary["run"]["id"]) == (
        web_input_id,
        "open",
        run_id,
    )
    assert fake.requests[-1].params == {"filter_run_ids": run_id, "filter_states": "open"}


def test_inputs_as_a_table_shows_id_state_title_and_run(
    fake: FakeGlobus, approval_flow: str, invoke: Invoke
) -> None:
    [(_, web_input_id)] = _waiting(fake, approval_flow)
    result = invoke("runs", "inputs", "--flow", approval_flow)
    assert result.exit_code == 0, result.output
    [row] = [line for line in result.stdout.splitlines() if web_input_id in line]
    title, run_label, roles = (
        ["Archive", "scan", "batch?"],
        ["batch", "0"],
        ["viewer,", "respondent"],
    )
    assert row.split() == [web_input_id, "open", *title, *run_label, *roles]


def test_show_prints_the_text_context_and_numbers_the_options(
    fake: FakeGlobus, approval_flow: str, invoke: Invoke
) -> None:
    [(_, web_input_id)] = _waiting(fake, approval_flow)
    result = invoke("runs", "inputs", "show", web_input_id)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Archive scan batch?"
    assert lines[1] == f"{web_input_id}  open  run: batch 0"
    assert "All scans passed quality control." in lines
    assert "  1. Approve: Archive them." in lines
    assert "  2. Reject: Stop." in lines


def test_show_renders_a_table_context_as_a_table(fake: FakeGlobus, invoke: Invoke) -> None:
    rows = [{"field": "Scans", "value": "118"}, {"field": "Beamline", "value": "8-ID-I"}]
    flow_id = fake.add_flow(web_input={"title": "Go?", "rows": rows, "after": 1.0})
    [(_, web_input_id)] = _waiting(fake, flow_id)
    result = invoke("runs", "inputs", "show", web_input_id)
    assert result.exit_code == 0, result.output
    cells = [line.split() for line in result.stdout.splitlines()]
    assert ["FIELD", "VALUE"] in cells
    assert ["Scans", "118"] in cells
    assert ["Beamline", "8-ID-I"] in cells


def test_show_as_json_is_the_service_document(
    fake: FakeGlobus, approval_flow: str, invoke: Invoke
) -> None:
    [(_, web_input_id)] = _waiting(fake, approval_flow)
    document = parse_json(invoke("runs", "inputs", "show", web_input_id, "--format", "json"))
    assert document["id"] == web_input_id
    assert [o["option_id"] for o in document["options"]] == [APPROVE, REJECT]


@pytest.mark.parametrize(("number", "outcome"), [("1", "SUCCEEDED"), ("2", "FAILED")])
def test_respond_with_an_option_number_sends_its_id(
    fake: FakeGlobus, approval_flow: str, invoke: Invoke, number: str, outcome: str
) -> None:
    [(run_id, web_input_id)] = _waiting(fake, approval_flow)
    result = invoke("runs", "inputs", "respond", web_input_id, "--option", number)
    assert result.exit_code == 0, result.output
    option = APPROVE if number == "1" else REJECT
    assert fake.requests[-1].json == {"response": {"value": option}}
    label = "Approve" if number == "1" else "Reject"
    assert result.stdout.strip() == f"Answered {web_input_id}: {label} ({option})"
    fake.clock.advance(10)
    assert fake.get_run_document(run_id)["status"] == outcome


def test_respond_with_a_json_value_sends_it_as_is(
    fake: FakeGlobus, approval_flow: str, invoke: Invoke
) -> None:
    [(_, web_input_id)] = _waiting(fake, approval_flow)
    result = invoke(
        "runs", "inputs", "respond", web_input_id, "--value", json.dumps(REJECT), "--format", "json"
    )
    assert result.exit_code == 0, result.output
    assert parse_json(result) == {"web_input_id": web_input_id, "value": REJECT, "ok": True}
    assert [(r.method, r.path) for r in fake.requests] == [
        ("POST", f"/web_inputs/{web_input_id}/respond")
    ]


def test_respond_needs_exactly_one_of_option_and_value(
    fake: FakeGlobus, approval_flow: str, invoke: Invoke
) -> None:
    [(_, web_input_id)] = _waiting(fake, approval_flow)
    neither = invoke("runs", "inputs", "respond", web_input_id)
    both = invoke("runs", "inputs", "respond", web_input_id, "--option", "1", "--value", "1")
    assert (neither.exit_code, both.exit_code) == (2, 2)
    assert fake.requests == []


def test_respond_with_an_option_number_out_of_range_is_an_error(
    fake: FakeGlobus, approval_flow: str, invoke: Invoke
) -> None:
    [(_, web_input_id)] = _waiting(fake, approval_flow)
    result = invoke("runs", "inputs", "respond", web_input_id, "--option", "3")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: --option must be from 1 to 2"
    assert fake.web_inputs_service.answers == {}


def test_answering_twice_reports_the_conflict(
    fake: FakeGlobus, approval_flow: str, invoke: Invoke
) -> None:
    [(_, web_input_id)] = _waiting(fake, approval_flow)
    invoke("runs", "inputs", "respond", web_input_id, "--option", "1")
    again = invoke("runs", "inputs", "respond", web_input_id, "--option", "2")
    assert again.exit_code == 1
    assert "409 STATE_CONFLICT" in again.stderr


def test_resume_shows_the_consent_needed_and_fails_while_it_is_missing(
    fake: FakeGlobus, invoke: Invoke
) -> None:
    flow_id = fake.add_flow(duration=10.0, consent_required=True)
    [run_id] = fake.add_runs(flow_id, 1)
    result = invoke("runs", "resume", run_id, "--format", "json")
    assert result.exit_code == 3
    assert parse_json(result)["status"] == "INACTIVE"
    assert f"Run {run_id} needs:" in result.stderr
    assert f"consent to: {flow_scope(flow_id)}" in result.stderr
    assert "still INACTIVE" in result.stderr

    fake.grant_consent(flow_id)
    again = invoke("runs", "resume", run_id, "--format", "json")
    assert again.exit_code == 0, again.output
    assert parse_json(again)["status"] == "ACTIVE"


def test_batch_resume_groups_the_paused_runs_and_resumes_them(
    fake: FakeGlobus, invoke: Invoke, tmp_path: Path
) -> None:
    consent_flow = fake.add_flow(duration=10.0, consent_required=True)
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text("".join(json.dumps({"body": {"n": n}}) + "\n" for n in range(4)))
    output = tmp_path / "results.jsonl"
    assert invoke("batch", "start", consent_flow, str(inputs), "-o", str(output)).exit_code == 0

    blocked = invoke("batch", "resume", str(output), "--format", "json")
    assert blocked.exit_code == 3
    assert "4 run(s) need:" in blocked.stderr
    assert f"consent to: {flow_scope(consent_flow)}" in blocked.stderr
    assert [r["still_inactive"] for r in parse_json(blocked)["results"]] == [True] * 4

    fake.grant_consent(consent_flow)
    resumed = invoke("batch", "resume", str(output))
    assert resumed.exit_code == 0, resumed.output
    assert "Resumed 4 run(s); 0 still INACTIVE; 0 failed; 0 not INACTIVE." in resumed.stdout

    nothing = invoke("batch", "resume", str(output), "--format", "json")
    assert nothing.exit_code == 0
    assert parse_json(nothing) == {"results": [], "skipped": 4}


class SteppingClock(FakeClock):
    """A clock that moves half a second each time it is read: a watch sees time pass
    request by request, without any wall-clock time."""

    def now(self) -> datetime:
        self.advance(0.5)
        return super().now()


@pytest.mark.parametrize("output_format", ["json", "text"])
def test_watch_says_what_the_run_waits_for(output_format: str) -> None:
    fake = FakeGlobus(clock=SteppingClock(START))
    flow_id = fake.add_flow(title="Archive", duration=10.0, web_input=QUESTION)
    [run_id] = fake.add_runs(flow_id, 1)
    web_input_id = fake.web_input_of(run_id)
    # The person answers 30 clock seconds from now: long after the watch saw the question.
    fake.clock.advance(3)
    fake.respond_to_web_input(web_input_id or "", APPROVE, after=30)

    with serving(fake) as invoke:
        result = invoke(
            "runs", "watch", run_id, "--poll-interval", "0.01", "--format", output_format
        )

    assert result.exit_code == 0, result.output
    if output_format == "json":
        events = [json.loads(line) for line in result.stdout.splitlines()]
        [waiting] = [e for e in events if e["event"] == "waiting_for_input"]
        assert waiting == {
            "event": "waiting_for_input",
            "run_id": run_id,
            "web_input_id": web_input_id,
            "title": "Archive scan batch?",
        }
        assert events[-1]["status"] == "SUCCEEDED"
    else:
        lines = result.stdout.splitlines()
        assert lines.count(f"waiting for input: Archive scan batch? ({web_input_id})") == 1


def test_watch_says_which_consent_a_paused_run_needs() -> None:
    fake = FakeGlobus(clock=SteppingClock(START))
    flow_id = fake.add_flow(duration=10.0, consent_required=True, inactive_after=2.0)
    [run_id] = fake.add_runs(flow_id, 1)
    # The run never resumes: the watch is ended by the run's cancellation far ahead.
    run = fake.flows_service.runs[run_id]
    run.canceled_at = fake.clock.now() + timedelta(seconds=40)
    fake.flows_service.retimed(run)  # the emulator's listings see the cancellation too
    with serving(fake) as invoke:
        result = invoke("runs", "watch", run_id, "--poll-interval", "0.01")
    assert result.exit_code == 3
    assert result.stdout.splitlines().count(f"needs consent: {flow_scope(flow_id)}") == 1


def test_wait_says_why_a_run_is_inactive_and_which_command_acts_on_it() -> None:
    # Each request the emulator answers moves its clock five seconds.
    fake = FakeGlobus(clock=FakeClock(START, per_request=5.0))
    flow_id = fake.add_flow(duration=10.0, consent_required=True, inactive_after=2.0)
    [run_id] = fake.add_runs(flow_id, 1)
    fake.clock.advance(5)  # INACTIVE
    # The run never resumes: the wait is ended by the run's cancellation, some polls later.
    run = fake.flows_service.runs[run_id]
    run.canceled_at = fake.clock.now() + timedelta(seconds=40)
    fake.flows_service.retimed(run)  # the emulator's listings see the cancellation too

    with serving(fake) as invoke:
        result = invoke("runs", "wait", run_id, "--poll-interval", "0.01")

    assert result.exit_code == 3
    notes = [line for line in result.stderr.splitlines() if not line.startswith("Waiting")]
    assert notes[:2] == [
        f"Run {run_id} is INACTIVE (ConsentRequired).",
        f"  consent to: {flow_scope(flow_id)}",
    ]
    assert notes[-1] == f"  then resume it: globus-runs runs resume {run_id}"
