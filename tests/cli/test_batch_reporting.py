"""What batch start and batch cancel tell the terminal: failures by kind, progress."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from globus_runs.testing import FakeGlobus

from .conftest import Invoke, env_invoker, parse_json, served_env


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def read_records(path: Path) -> list[dict[str, Any]]:
    """The outcomes recorded in a results file (its intents left out)."""
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [record for record in records if "intent" not in record]


def run_line(n: int) -> str:
    return json.dumps({"body": {"n": n}, "label": f"scan {n}"})


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """Five runs to start, numbered 1 to 5 (their line numbers)."""
    return write_lines(tmp_path / "inputs.jsonl", [run_line(n) for n in range(1, 6)])


@pytest.fixture
def bad_token(fake: FakeGlobus) -> Invoke:
    """The command line with a token the emulator does not know."""
    return env_invoker(served_env({**fake.urls(), "token": "not-a-known-token"}))


def test_start_counts_failures_by_kind_with_the_first_message(
    fake: FakeGlobus, flow_id: str, bad_token: Invoke, inputs: Path, tmp_path: Path
) -> None:
    output = tmp_path / "results.jsonl"
    result = bad_token("batch", "start", flow_id, str(inputs), "-o", str(output), "--no-progress")
    assert result.exit_code == 3
    first = read_records(output)[0]["error"]
    assert (first["http_status"], first["code"]) == (401, "AUTHENTICATION_ERROR")
    lines = result.stdout.splitlines()
    assert (
        lines[0] == f"Started 0 run(s), 5 failed, 0 skipped (already started); results in {output}."
    )
    assert_rejected_token_kinds(lines[1:], fake_message(first), total=5)


def assert_rejected_token_kinds(lines: list[str], message: str, *, total: int) -> None:
    """The 401s the service sent, and the items the batch then did not send, add up to
    ``total``; the first line's item was sent."""
    sent = re.fullmatch(rf"(\d+) failed: 401 AUTHENTICATION_ERROR: {re.escape(message)} "
                        r"\(first: line 1\)", lines[0])  # fmt: skip
    assert sent is not None, lines
    count = int(sent.group(1))
    if count < total:
        held = re.fullmatch(
            r"(\d+) failed: not attempted after 401 AUTHENTICATION_ERROR: the token was "
            r"rejected and cannot be renewed \(first: line \d+\)",
            lines[1],
        )
        assert held is not None, lines
        count += int(held.group(1))
    assert count == total


def fake_message(error_document: dict[str, Any]) -> str:
    """The service's own message, out of a results record's ``"401 CODE: message (...)"``."""
    match = re.fullmatch(r".*?\d{3} [A-Z_]+: (.*?)( \(request_id=.*\))?", error_document["message"])
    assert match is not None
    return match.group(1)


def test_start_names_the_line_of_each_kind_of_malformed_input(
    flow_id: str, invoke: Invoke, tmp_path: Path
) -> None:
    inputs = write_lines(
        tmp_path / "inputs.jsonl",
        [run_line(1), "{not json", run_line(3), "[1, 2]", '{"body": 3}', "{oops"],
    )
    output = tmp_path / "results.jsonl"
    result = invoke("batch", "start", flow_id, str(inputs), "-o", str(output), "--format", "json")
    assert result.exit_code == 3
    document = parse_json(result)
    assert document["failures"] == [
        {
            "kind": "invalid input line",
            "count": 4,
            "first_message": "not JSON: Expecting property name enclosed in double quotes "
            "at column 2",
            "first_line": 2,
        }
    ]
    text = invoke("batch", "start", flow_id, str(inputs), "-o", str(output))
    assert text.stdout.splitlines()[1] == (
        "4 failed: invalid input line: not JSON: Expecting property name enclosed in double "
        "quotes at column 2 (first: line 2)"
    )


def test_a_resume_with_everything_started_says_so(
    flow_id: str, invoke: Invoke, inputs: Path, tmp_path: Path
) -> None:
    output = tmp_path / "results.jsonl"
    assert invoke("batch", "start", flow_id, str(inputs), "-o", str(output)).exit_code == 0
    again = invoke("batch", "start", flow_id, str(inputs), "-o", str(output))
    assert again.exit_code == 0
    assert again.stdout == f"Nothing to start: all 5 line(s) are recorded as started in {output}.\n"
    # The bar still ends with a finished line, not a spinner frame.
    assert re.fullmatch(r"Starting runs: 0/0 done, 0 started, 0 failed in 0:00:00\n", again.stderr)


def test_cancel_counts_an_ended_run_as_already_ended_everywhere(
    fake: FakeGlobus, flow_id: str, invoke: Invoke, inputs: Path, tmp_path: Path
) -> None:
    output = tmp_path / "results.jsonl"
    invoke("batch", "start", flow_id, str(inputs), "-o", str(output))
    ended = read_records(output)[0]["run_id"]
    invoke("runs", "cancel", ended)
    result = invoke("batch", "cancel", str(output))
    assert result.exit_code == 0
    assert result.stdout == "Canceled 4 run(s); 1 had already ended; 0 failed.\n"
    assert re.fullmatch(
        r"Canceling runs: 5/5 done, 4 canceled, 1 already ended, 0 failed in .*\n",
        result.stderr,
    )
    again = parse_json(invoke("batch", "cancel", str(output), "--format", "json"))
    assert [(r["outcome"], r["ok"]) for r in again["results"]] == [("already_ended", True)] * 5
    assert again["failures"] == []


def test_cancel_counts_failures_by_kind(
    flow_id: str, invoke: Invoke, bad_token: Invoke, inputs: Path, tmp_path: Path
) -> None:
    output = tmp_path / "results.jsonl"
    invoke("batch", "start", flow_id, str(inputs), "-o", str(output))
    result = bad_token("batch", "cancel", str(output), "--format", "json")
    assert result.exit_code == 3
    document = parse_json(result)
    assert [(r["outcome"], r["ok"]) for r in document["results"]] == [("failed", False)] * 5
    sent, *held = document["failures"]
    assert (sent["kind"], sent["first_line"]) == ("401 AUTHENTICATION_ERROR", 1)
    assert [kind["kind"] for kind in held] in ([], ["not attempted after 401 AUTHENTICATION_ERROR"])
    assert sum(kind["count"] for kind in document["failures"]) == 5
    text = bad_token("batch", "cancel", str(output))
    assert_rejected_token_kinds(text.stdout.splitlines()[1:], sent["first_message"], total=5)
