"""``globus-runs batch ...``: start from a file (resumably), wait for and cancel what it started."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from globus_runs.testing import FakeGlobus

from .conftest import START, Invoke, parse_json


def write_lines(path: Path, documents: list[Any]) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in documents))
    return path


def read_records(path: Path) -> list[dict[str, Any]]:
    """The outcomes recorded in a results file (its intents and records cut short left out)."""
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return [record for record in records if "intent" not in record]


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """Five runs to start, numbered 1 to 5 (their line numbers)."""
    return write_lines(
        tmp_path / "inputs.jsonl",
        [{"body": {"n": n}, "label": f"scan {n}", "tags": ["batch"]} for n in range(1, 6)],
    )


def started_inputs(fake: FakeGlobus) -> list[int]:
    return sorted(run.body["n"] for run in fake.runs.values())


def test_start_one_run_per_line_and_record_each(
    fake: FakeGlobus, flow_id: str, invoke: Invoke, inputs: Path, tmp_path: Path
) -> None:
    output = tmp_path / "results.jsonl"
    result = invoke("batch", "start", flow_id, str(inputs), "-o", str(output), "--format", "json")
    assert result.exit_code == 0, result.output
    assert parse_json(result) == {
        "output": str(output),
        "lines": 5,
        "started": 5,
        "failed": 0,
        "skipped": 0,
        "found": 0,
        "failures": [],
    }
    assert started_inputs(fake) == [1, 2, 3, 4, 5]
    records = sorted(read_records(output), key=lambda record: record["line"])
    assert [record["line"] for record in records] == [1, 2, 3, 4, 5]
    for record in records:
        run = fake.runs[record["run_id"]]
        assert run.body == {"n": record["line"]}
        assert run.label == record["label"] == f"scan {record['line']}"
        assert "batch" in run.tags
        assert record["flow_id"] == flow_id
        assert record["status"] == "ACTIVE"


def test_a_rerun_starts_only_the_lines_not_recorded_as_started(
    fake: FakeGlobus, flow_id: str, invoke: Invoke, inputs: Path, tmp_path: Path
) -> None:
    # An interrupted batch: lines 1 and 2 started, line 3 failed, the last record cut short.
    first, second = fake.add_runs(flow_id, 2, body={"n": 0})
    output = tmp_path / "results.jsonl"
    output.write_text(
        json.dumps({"line": 1, "run_id": first, "flow_id": flow_id, "status": "ACTIVE"})
        + "\n"
        + json.dumps({"line": 3, "error": {"type": "ServerError", "message": "502"}})
        + "\n"
        + json.dumps({"line": 2, "run_id": second, "flow_id": flow_id, "status": "ACTIVE"})
        + "\n"
        + '{"line": 4, "run_id": "6f1'
    )
    result = invoke("batch", "start", flow_id, str(inputs), "-o", str(output), "--format", "json")
    assert result.exit_code == 0, result.output
    assert parse_json(result)["started"] == 3
    assert parse_json(result)["skipped"] == 2
    assert started_inputs(fake) == [0, 0, 3, 4, 5]
    appended = output.read_text().splitlines()[4:]
    outcomes = [json.loads(line) for line in appended if "intent" not in line]
    assert sorted(outcome["line"] for outcome in outcomes) == [3, 4, 5]

    again = invoke("batch", "start", flow_id, str(inputs), "-o", str(output), "--format", "json")
    assert parse_json(again)["started"] == 0
    assert len(fake.runs) == 5


def test_lines_that_are_not_runs_are_recorded_as_errors(
    fake: FakeGlobus, flow_id: str, invoke: Invoke, tmp_path: Path
) -> None:
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text('{"body": {"n": 1}}\n\nnot json\n{"n": 3}\n{"body": {"n": 4}}\n')
    output = tmp_path / "results.jsonl"
    result = invoke("batch", "start", flow_id, str(inputs), "-o", str(output))
    assert result.exit_code == 3
    assert "Started 2 run(s), 2 failed" in result.stdout
    errors = {r["line"]: r["error"] for r in read_records(output) if "error" in r}
    assert errors == {
        3: {"type": "InvalidInputLine", "message": errors[3]["message"]},
        4: {
            "type": "InvalidInputLine",
            "message": "unknown keys ['n']: put the flow input under 'body'",
        },
    }
    assert errors[3]["message"].startswith("not JSON")
    assert started_inputs(fake) == [1, 4]


def test_a_start_the_service_refuses_is_recorded_with_its_error(
    fake: FakeGlobus, invoke: Invoke, inputs: Path, tmp_path: Path
) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    output = tmp_path / "results.jsonl"
    result = invoke("batch", "start", missing, str(inputs), "-o", str(output))
    assert result.exit_code == 3
    record = read_records(output)[0]
    assert record["error"]["type"] == "FlowNotFoundError"
    assert (record["error"]["http_status"], record["error"]["code"]) == (404, "NOT_FOUND")


def test_a_results_file_of_another_flow_is_refused(
    fake: FakeGlobus, flow_id: str, invoke: Invoke, inputs: Path, tmp_path: Path
) -> None:
    other = fake.add_flow()
    output = write_lines(
        tmp_path / "results.jsonl",
        [{"line": 1, "run_id": fake.add_runs(other, 1)[0], "flow_id": other}],
    )
    result = invoke("batch", "start", flow_id, str(inputs), "-o", str(output))
    assert result.exit_code == 2
    assert "records runs of another flow" in result.stderr
    assert len(fake.runs) == 1


def test_a_results_file_of_another_input_file_is_refused(
    fake: FakeGlobus, flow_id: str, invoke: Invoke, inputs: Path, tmp_path: Path
) -> None:
    output = tmp_path / "results.jsonl"
    assert invoke("batch", "start", flow_id, str(inputs), "-o", str(output)).exit_code == 0
    others = write_lines(tmp_path / "others.jsonl", [{"body": {"n": n}} for n in range(1, 6)])

    result = invoke("batch", "start", flow_id, str(others), "-o", str(output))

    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"Error: {output} was written for another input file (line 1 of {others} is not "
        "the line recorded there): use another --output file"
    )
    assert len(fake.runs) == 5


def tagged(number: int) -> str:
    return f"globus-runs-request:00000000-0000-4000-8000-{number:012d}"


def intent(line: int, flow_id: str) -> str:
    record = {"line": line, "intent": tagged(line), "flow_id": flow_id, "at": START.isoformat()}
    return json.dumps(record)


def test_a_record_cut_short_in_the_middle_is_reported_and_its_line_looked_up(
    fake: FakeGlobus, flow_id: str, invoke: Invoke, inputs: Path, tmp_path: Path
) -> None:
    # Line 3's intent was cut short (a full disk), the file went on; its run was made.
    fake.add_runs(flow_id, 1, body={"n": 3}, tags=[tagged(3)])
    output = tmp_path / "results.jsonl"
    output.write_text(intent(1, flow_id) + "\n" + intent(3, flow_id)[:95] + "\n")
    with output.open("a") as more:
        more.write(intent(2, flow_id) + "\n")

    result = invoke("batch", "start", flow_id, str(inputs), "-o", str(output), "--format", "json")

    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == (
        f"{output}:2: a record cut short in the middle of the file (a crash or a full disk "
        "while writing it); input line 3 is looked up by its request tag"
    )
    assert parse_json(result)["found"] == 1
    assert started_inputs(fake) == [1, 2, 3, 4, 5]
    [line_3] = [r for r in read_records(output) if r["line"] == 3]
    assert (line_3["tag"], fake.runs[line_3["run_id"]].body) == (tagged(3), {"n": 3})


def test_a_record_cut_short_at_the_end_is_reported_and_its_line_looked_up(
    fake: FakeGlobus, flow_id: str, invoke: Invoke, inputs: Path, tmp_path: Path
) -> None:
    # Killed while writing the outcome of line 4: its intent is whole, its run was made.
    [made] = fake.add_runs(flow_id, 1, body={"n": 4}, tags=[tagged(4)])
    output = tmp_path / "results.jsonl"
    output.write_text(intent(4, flow_id) + "\n" + f'{{"line": 4, "run_id": "{made[:8]}')

    result = invoke("batch", "start", flow_id, str(inputs), "-o", str(output), "--format", "json")

    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == (
        f"{output}:2: a record cut short at the end of the file (the process was stopped "
        "while writing it); input line 4 is looked up by its request tag"
    )
    assert parse_json(result)["found"] == 1
    assert started_inputs(fake) == [1, 2, 3, 4, 5]
    assert [r["run_id"] for r in read_records(output) if r["line"] == 4] == [made]


def test_an_unanswered_start_whose_run_is_missing_is_started_again(
    fake: FakeGlobus, flow_id: str, invoke: Invoke, inputs: Path, tmp_path: Path
) -> None:
    output = tmp_path / "results.jsonl"
    output.write_text(intent(2, flow_id) + "\n")

    result = invoke("batch", "start", flow_id, str(inputs), "-o", str(output), "--format", "json")

    assert parse_json(result)["found"] == 0
    assert started_inputs(fake) == [1, 2, 3, 4, 5]
    lookups = [r for r in fake.requests if (r.method, r.path) == ("GET", "/runs")]
    assert len(lookups) == 1  # one walk over the flow's runs for every unanswered start


def test_the_progress_bar_works_when_the_output_is_not_a_terminal(
    fake: FakeGlobus, flow_id: str, invoke: Invoke, inputs: Path, tmp_path: Path
) -> None:
    output = tmp_path / "results.jsonl"
    result = invoke("batch", "start", flow_id, str(inputs), "-o", str(output))
    assert result.exit_code == 0
    # Drawn once, finished, on stderr, with no terminal control sequences.
    assert result.stderr.count("Starting runs") == 1
    assert "5/5" in result.stderr
    assert "5 started" in result.stderr
    assert "0 failed" in result.stderr
    assert "\x1b[" not in result.stderr
    assert result.stdout.startswith("Started 5 run(s), 0 failed, 0 skipped")

    quiet = invoke("batch", "start", flow_id, str(inputs), "-o", str(output), "--no-progress")
    assert quiet.stderr == ""


def test_wait_for_the_recorded_runs(
    fake: FakeGlobus,
    flow_id: str,
    failing_flow_id: str,
    invoke: Invoke,
    inputs: Path,
    tmp_path: Path,
) -> None:
    output = tmp_path / "results.jsonl"
    invoke("batch", "start", flow_id, str(inputs), "-o", str(output))
    fake.clock.advance(60)
    fake.clear_requests()
    result = invoke("batch", "wait", str(output), "--poll-interval", "0.01", "--format", "json")
    assert result.exit_code == 0, result.output
    document = parse_json(result)
    assert document["all_succeeded"] is True
    assert [run["label"] for run in document["runs"]] == [f"scan {n}" for n in range(1, 6)]
    # The records say which flow each run is of: no run is fetched on its own.
    assert {request.path for request in fake.requests} == {"/runs"}

    failing = tmp_path / "failing.jsonl"
    invoke("batch", "start", failing_flow_id, str(inputs), "-o", str(failing))
    fake.clock.advance(60)
    text = invoke("batch", "wait", str(failing), "--poll-interval", "0.01")
    assert text.exit_code == 3
    assert "5 run(s): 5 FAILED" in text.stdout


def test_wait_gives_up_after_the_timeout(
    fake: FakeGlobus, flow_id: str, invoke: Invoke, inputs: Path, tmp_path: Path
) -> None:
    output = tmp_path / "results.jsonl"
    invoke("batch", "start", flow_id, str(inputs), "-o", str(output))
    # Long enough for the first poll however loaded the machine: the runs never end.
    result = invoke("batch", "wait", str(output), "--timeout", "2", "--poll-interval", "0.05")
    assert result.exit_code == 4
    assert "5 run(s): 5 ACTIVE" in result.stdout


def test_cancel_the_recorded_runs(
    fake: FakeGlobus, flow_id: str, invoke: Invoke, inputs: Path, tmp_path: Path
) -> None:
    output = tmp_path / "results.jsonl"
    invoke("batch", "start", flow_id, str(inputs), "-o", str(output))
    records = {record["line"]: record["run_id"] for record in read_records(output)}
    invoke("runs", "cancel", records[2])  # already ended when the batch is canceled
    result = invoke("batch", "cancel", str(output), "--format", "json")
    assert result.exit_code == 0, result.output
    results = parse_json(result)["results"]
    assert [(r["line"], r["run_id"], r["ok"], r["outcome"]) for r in results] == [
        (line, records[line], True, "already_ended" if line == 2 else "canceled")
        for line in range(1, 6)
    ]
    assert results[1]["error"]["code"] == "STATE_CONFLICT"
    assert {fake.get_run_document(run_id)["details"]["code"] for run_id in records.values()} == {
        "FlowCanceled"
    }

    text = invoke("batch", "cancel", str(output))
    assert text.exit_code == 0
    assert "Canceled 0 run(s); 5 had already ended; 0 failed." in text.stdout
    assert "Canceling runs" in text.stderr


def test_a_damaged_results_file_is_an_error(
    flow_id: str, invoke: Invoke, inputs: Path, tmp_path: Path
) -> None:
    output = tmp_path / "results.jsonl"
    output.write_text('not json\n{"line": 1}\n')
    for args in (("batch", "start", flow_id, str(inputs), "-o"), ("batch", "wait")):
        result = invoke(*args, str(output))
        assert result.exit_code == 1
        assert result.stderr == f"Error: {output}:1 is not a JSON line of results\n"


@pytest.mark.parametrize(
    "error",
    [
        {"type": "ConnectError", "message": "could not connect"},
        {"type": "FlowNotFoundError", "message": "…", "http_status": 404, "code": "NOT_FOUND"},
    ],
)
def test_a_start_that_provably_made_no_run_is_started_again_without_a_look_up(
    fake: FakeGlobus,
    flow_id: str,
    invoke: Invoke,
    inputs: Path,
    tmp_path: Path,
    error: dict[str, Any],
) -> None:
    output = tmp_path / "results.jsonl"
    output.write_text(intent(2, flow_id) + "\n" + json.dumps({"line": 2, "error": error}) + "\n")

    result = invoke("batch", "start", flow_id, str(inputs), "-o", str(output), "--format", "json")

    assert parse_json(result)["started"] == 5
    assert started_inputs(fake) == [1, 2, 3, 4, 5]
    assert [r for r in fake.requests if (r.method, r.path) == ("GET", "/runs")] == []


def test_a_start_that_failed_ambiguously_is_looked_up_first(
    fake: FakeGlobus, flow_id: str, invoke: Invoke, inputs: Path, tmp_path: Path
) -> None:
    # A 502 to the start, then the look-up failed too: the run was made all the same.
    fake.add_runs(flow_id, 1, body={"n": 2}, tags=[tagged(2)])
    output = tmp_path / "results.jsonl"
    error = {"type": "ServerError", "message": "…", "http_status": 502, "code": "BAD_GATEWAY"}
    output.write_text(intent(2, flow_id) + "\n" + json.dumps({"line": 2, "error": error}) + "\n")

    result = invoke("batch", "start", flow_id, str(inputs), "-o", str(output), "--format", "json")

    assert parse_json(result)["found"] == 1
    assert started_inputs(fake) == [1, 2, 3, 4, 5]
