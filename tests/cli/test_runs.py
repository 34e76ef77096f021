"""``globus-runs runs ...`` against the in-process emulator (its clock moves only when told)."""

from __future__ import annotations

import json

from globus_runs.testing import FakeGlobus

from .conftest import Invoke, parse_json

UNKNOWN_RUN = "00000000-0000-4000-8000-000000000000"


def test_list_prints_the_run_documents_as_json(
    fake: FakeGlobus, flow_id: str, invoke: Invoke
) -> None:
    run_ids = fake.add_runs(flow_id, 3)
    result = invoke("runs", "list", "--format", "json")
    assert result.exit_code == 0
    document = parse_json(result)
    assert list(document) == ["runs", "more"]
    assert document["more"] is False
    assert {run["run_id"] for run in document["runs"]} == set(run_ids)
    assert document["runs"][0] == fake.get_run_document(document["runs"][0]["run_id"])


def test_list_sends_every_filter(fake: FakeGlobus, flow_id: str, invoke: Invoke) -> None:
    result = invoke(
        "runs", "list",
        "--flow-id", flow_id, "--flow-id", "b0b0b0b0-0000-4000-8000-000000000002",
        "--status", "active", "--status", "INACTIVE",
        "--label", "scan 1",
        "--flow-title", "Ten Seconds",
        "--role", "run_owner", "--role", "run_manager",
        "--started-after", "2026-01-01T00:00:00+00:00",
        "--completed-before", "2026-12-31T00:00:00Z",
        "--orderby", "start_time DESC",
        "--per-page", "7",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert fake.requests[-1].params == {
        "filter_flow_id": f"{flow_id},b0b0b0b0-0000-4000-8000-000000000002",
        "filter_status": "ACTIVE,INACTIVE",
        "filter_label": "scan 1",
        "filter_flow_title": "Ten Seconds",
        "filter_roles": "run_owner,run_manager",
        "filter_start_time": "2026-01-01T00:00:00+00:00,",
        "filter_completion_time": ",2026-12-31T00:00:00+00:00",
        "orderby": "start_time DESC",
        "per_page": "7",
    }


def test_list_follows_pages_up_to_the_limit(fake: FakeGlobus, flow_id: str, invoke: Invoke) -> None:
    fake.add_runs(flow_id, 12)
    result = invoke("runs", "list", "--per-page", "5", "--limit", "7", "--format", "json")
    assert len(parse_json(result)["runs"]) == 7
    assert [r.params.get("marker") is not None for r in fake.requests] == [False, True]

    everything = invoke("runs", "list", "--per-page", "5", "--limit", "0", "--format", "json")
    assert len(parse_json(everything)["runs"]) == 12


def test_list_as_text_is_a_table_of_runs(fake: FakeGlobus, flow_id: str, invoke: Invoke) -> None:
    [run_id] = fake.add_runs(flow_id, 1, label="scan 42")
    result = invoke("runs", "list")
    assert result.exit_code == 0
    assert run_id in result.stdout
    assert "scan 42" in result.stdout
    assert "ACTIVE" in result.stdout
    assert "1 run(s)" in result.stdout


def test_a_bad_date_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("runs", "list", "--started-after", "yesterday")
    assert result.exit_code == 2
    assert "ISO 8601" in result.stderr


def test_show_prints_the_run_document(fake: FakeGlobus, flow_id: str, invoke: Invoke) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    result = invoke("runs", "show", run_id, "--flow-description", "--format", "json")
    assert result.exit_code == 0
    assert parse_json(result) == fake.get_run_document(run_id, include_flow_description=True)
    assert fake.requests[-1].params == {"include_flow_description": "true"}


def test_show_as_text(fake: FakeGlobus, failing_flow_id: str, invoke: Invoke) -> None:
    [run_id] = fake.add_runs(failing_flow_id, 1, label="scan 9", tags=["beam"])
    fake.clock.advance(60)
    result = invoke("runs", "show", run_id)
    assert result.exit_code == 0
    for expected in (run_id, "FAILED", "scan 9", "beam", "Fails", "Error"):
        assert expected in result.stdout


def test_a_library_error_is_one_line_on_stderr_and_exit_status_1(invoke: Invoke) -> None:
    result = invoke("runs", "show", UNKNOWN_RUN)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: GET ")
    assert "404 NOT_FOUND" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_invalid_id_is_refused_before_any_request(fake: FakeGlobus, invoke: Invoke) -> None:
    result = invoke("runs", "show", "../etc")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: InvalidIdError: ")
    assert fake.requests == []


def test_logs_in_reverse_with_a_limit(fake: FakeGlobus, flow_id: str, invoke: Invoke) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    fake.clock.advance(60)
    everything = parse_json(invoke("runs", "logs", run_id, "--format", "json"))
    assert everything["run_id"] == run_id
    codes = [entry["code"] for entry in everything["entries"]]
    assert codes[0] == "FlowStarted"
    assert codes[-1] == "FlowSucceeded"

    fake.clear_requests()
    latest = parse_json(
        invoke("runs", "logs", run_id, "--reverse", "--limit", "2", "--format", "json")
    )
    assert [entry["code"] for entry in latest["entries"]] == codes[::-1][:2]
    assert latest["more"] is True
    # One entry more than shown is asked for, to know whether more exist.
    assert fake.requests[0].params == {"limit": "3", "reverse_order": "true"}


def test_logs_as_text(fake: FakeGlobus, flow_id: str, invoke: Invoke) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    fake.clock.advance(60)
    result = invoke("runs", "logs", run_id)
    assert "FlowStarted" in result.stdout
    assert "FlowSucceeded" in result.stdout


def test_update_sends_only_what_was_given(fake: FakeGlobus, flow_id: str, invoke: Invoke) -> None:
    [run_id] = fake.add_runs(flow_id, 1, tags=["old"])
    manager = "urn:globus:auth:identity:b0b0b0b0-0000-4000-8000-000000000002"
    result = invoke(
        "runs", "update", run_id, "--label", "renamed", "--tag", "a", "--tag", "b",
        "--manager", manager, "--clear-monitors", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert fake.requests[-1].json == {
        "label": "renamed",
        "tags": ["a", "b"],
        "run_monitors": [],
        "run_managers": [manager],
    }
    document = parse_json(result)
    assert (document["label"], document["tags"]) == ("renamed", ["a", "b"])


def test_update_can_clear_the_tags(fake: FakeGlobus, flow_id: str, invoke: Invoke) -> None:
    [run_id] = fake.add_runs(flow_id, 1, tags=["old"])
    assert invoke("runs", "update", run_id, "--clear-tags").exit_code == 0
    assert fake.requests[-1].json == {"tags": []}
    assert fake.runs[run_id].tags == []


def test_update_needs_something_to_change(fake: FakeGlobus, invoke: Invoke) -> None:
    assert invoke("runs", "update", UNKNOWN_RUN).exit_code == 2
    assert invoke("runs", "update", UNKNOWN_RUN, "--tag", "a", "--clear-tags").exit_code == 2
    assert fake.requests == []


def test_cancel_several_runs(fake: FakeGlobus, flow_id: str, invoke: Invoke) -> None:
    run_ids = fake.add_runs(flow_id, 2)
    result = invoke("runs", "cancel", *run_ids, "--format", "json")
    assert result.exit_code == 0
    results = parse_json(result)["results"]
    assert [(r["run_id"], r["ok"]) for r in results] == [(run_ids[0], True), (run_ids[1], True)]
    assert all(r["run"]["details"]["code"] == "FlowCanceled" for r in results)
    assert {fake.get_run_document(r)["status"] for r in run_ids} == {"FAILED"}


def test_cancel_reports_each_failure_and_exits_3(
    fake: FakeGlobus, flow_id: str, invoke: Invoke
) -> None:
    [active, ended] = fake.add_runs(flow_id, 2, duration=[100.0, 1.0])
    fake.clock.advance(5)
    result = invoke("runs", "cancel", active, ended, "--format", "json")
    assert result.exit_code == 3
    first, second = parse_json(result)["results"]
    assert first["ok"] is True
    assert second == {
        "run_id": ended,
        "ok": False,
        "error": {
            "type": "ConflictError",
            "message": second["error"]["message"],
            "http_status": 409,
            "code": "STATE_CONFLICT",
        },
    }

    text = invoke("runs", "cancel", ended)
    assert text.exit_code == 3
    assert f"{ended}  not canceled: POST" in text.stdout


def test_delete_releases_an_ended_run(fake: FakeGlobus, flow_id: str, invoke: Invoke) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    fake.clock.advance(60)
    result = invoke("runs", "delete", run_id)
    assert result.exit_code == 0
    assert result.stdout == f"Deleted run {run_id} (SUCCEEDED).\n"
    assert run_id not in fake.runs


def test_delete_of_an_active_run_is_a_conflict(
    fake: FakeGlobus, flow_id: str, invoke: Invoke
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    result = invoke("runs", "delete", run_id, "--format", "json")
    assert result.exit_code == 1
    assert "409 STATE_CONFLICT" in result.stderr
    assert run_id in fake.runs


def test_resume_an_inactive_run(fake: FakeGlobus, invoke: Invoke) -> None:
    paused = fake.add_flow(duration=10.0, inactive_after=1.0)
    [run_id] = fake.add_runs(paused, 1)
    fake.clock.advance(5)
    assert fake.get_run_document(run_id)["status"] == "INACTIVE"
    result = invoke("runs", "resume", run_id, "--format", "json")
    assert result.exit_code == 0, result.output
    assert parse_json(result)["status"] == "ACTIVE"
    assert fake.requests[-1].path == f"/runs/{run_id}/resume"


def test_wait_for_one_run_that_succeeded(fake: FakeGlobus, flow_id: str, invoke: Invoke) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    fake.clock.advance(60)
    result = invoke("runs", "wait", run_id, "--format", "json")
    assert result.exit_code == 0
    document = parse_json(result)
    assert document == {
        "runs": [fake.get_run_document(run_id)],
        "all_succeeded": True,
        "timed_out": False,
    }


def test_wait_exits_3_unless_every_run_succeeded(
    fake: FakeGlobus, flow_id: str, failing_flow_id: str, invoke: Invoke
) -> None:
    [good] = fake.add_runs(flow_id, 1)
    [bad] = fake.add_runs(failing_flow_id, 1)
    fake.clock.advance(60)
    result = invoke("runs", "wait", good, bad, "--poll-interval", "0.01")
    assert result.exit_code == 3
    assert "2 run(s): 1 FAILED, 1 SUCCEEDED" in result.stdout
    document = parse_json(invoke("runs", "wait", good, bad, "--format", "json"))
    assert [run["run_id"] for run in document["runs"]] == [good, bad]
    assert document["all_succeeded"] is False


def test_wait_gives_up_after_the_timeout_with_exit_status_4(
    fake: FakeGlobus, flow_id: str, invoke: Invoke
) -> None:
    run_ids = fake.add_runs(flow_id, 2)  # the clock stands still: they never end
    result = invoke(
        "runs", "wait", *run_ids, "--timeout", "2", "--poll-interval", "0.05", "--format", "json"
    )
    assert result.exit_code == 4
    document = json.loads(result.stdout)
    assert document["timed_out"] is True
    assert [run["status"] for run in document["runs"]] == ["ACTIVE", "ACTIVE"]
    assert "Gave up after 2.0 s: 2 of 2 run(s) not ended." in result.stderr

    one = invoke("runs", "wait", run_ids[0], "--timeout", "0.2", "--poll-interval", "0.05")
    assert one.exit_code == 4


def test_watch_prints_each_event_as_a_json_line(
    fake: FakeGlobus, failing_flow_id: str, invoke: Invoke
) -> None:
    [run_id] = fake.add_runs(failing_flow_id, 1)
    fake.clock.advance(60)
    result = invoke("runs", "watch", run_id, "--format", "json")
    assert result.exit_code == 3
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["event"] == "status"
    assert (events[0]["status"], events[0]["previous"]) == ("FAILED", None)
    assert events[0]["run"] == fake.get_run_document(run_id)
    logs = events[1:]
    assert {event["event"] for event in logs} == {"log"}
    assert logs[-1]["entry"]["code"] == "FlowFailed"
    assert all(event["run_id"] == run_id for event in events)


def test_watch_as_text_shows_the_log_and_the_status(
    fake: FakeGlobus, flow_id: str, invoke: Invoke
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    fake.clock.advance(60)
    result = invoke("runs", "watch", run_id)
    assert result.exit_code == 0
    assert "status - -> SUCCEEDED" in result.stdout
    assert "FlowSucceeded" in result.stdout
