"""``batch tag``, ``batch cancel --bulk``, ``batch rerun`` and ``runs summary``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from globus_runs.testing import FakeGlobus, serve_in_thread

from .conftest import START, Invoke, env_invoker, parse_json, served_env


def read_records(path: Path) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [record for record in records if "intent" not in record]


def start_batch(invoke: Invoke, flow_id: str, tmp_path: Path, n: int = 5) -> Path:
    """``batch start`` of ``n`` runs (inputs ``{"n": 1..n}``); returns the results file."""
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text(
        "".join(
            json.dumps({"body": {"n": i}, "label": f"scan {i}", "tags": ["new"]}) + "\n"
            for i in range(1, n + 1)
        )
    )
    output = tmp_path / "results.jsonl"
    result = invoke("batch", "start", flow_id, str(inputs), "-o", str(output), "--no-progress")
    assert result.exit_code == 0, result.output
    return output


def user_tags(tags: list[str]) -> list[str]:
    """Tags less the request tags of exactly-once starts (``batch start`` adds them)."""
    return [tag for tag in tags if not tag.startswith("globus-runs-request:")]


def batch_posts(fake: FakeGlobus) -> list[Any]:
    return [r for r in fake.requests if r.path == "/batch/runs"]


def test_batch_tag_adds_and_removes_tags_in_one_request(
    fake: FakeGlobus, flow_id: str, invoke: Invoke, tmp_path: Path
) -> None:
    results = start_batch(invoke, flow_id, tmp_path)
    run_ids = sorted(r["run_id"] for r in read_records(results))

    result = invoke(
        "batch", "tag", str(results), "--add", "checked", "--remove", "new", "--format", "json"
    )

    document = parse_json(result)
    assert (document["requests"], document["updated"], document["refused"]) == (1, 5, 0)
    [request] = batch_posts(fake)
    assert sorted(request.json["filters"]["run_ids"]) == run_ids
    assert (request.json["add"], request.json["remove"]) == (
        {"tags": ["checked"]},
        {"tags": ["new"]},
    )
    assert {tuple(user_tags(fake.runs[run_id].tags)) for run_id in run_ids} == {("checked",)}


def test_batch_tag_needs_a_change(flow_id: str, invoke: Invoke, tmp_path: Path) -> None:
    results = start_batch(invoke, flow_id, tmp_path, n=1)

    result = invoke("batch", "tag", str(results))

    assert result.exit_code == 2
    assert "give at least one --add or --remove" in result.output


def test_bulk_cancel_with_confirmation_reports_canceled_runs(
    fake: FakeGlobus, invoke: Invoke, tmp_path: Path
) -> None:
    flow_id = fake.add_flow(duration=1e6)
    results = start_batch(invoke, flow_id, tmp_path)
    run_ids = [r["run_id"] for r in sorted(read_records(results), key=lambda r: r["line"])]
    fake.clear_requests()

    result = invoke(
        "batch", "cancel", str(results), "--bulk", "--confirm", "--poll-interval", "0.01",
        "--format", "json",
    )  # fmt: skip

    document = parse_json(result)
    assert result.exit_code == 0
    assert (document["requests"], document["asked"], document["refused"]) == (1, 5, [])
    assert (document["canceled"], document["ended"], document["unfinished"]) == (run_ids, [], [])
    assert {(r.method, r.path) for r in fake.requests} == {
        ("POST", "/batch/runs"),
        ("GET", "/runs"),
    }


def test_bulk_cancel_uses_chunks_of_the_size_given(
    fake: FakeGlobus, invoke: Invoke, tmp_path: Path
) -> None:
    flow_id = fake.add_flow(duration=1e6)
    results = start_batch(invoke, flow_id, tmp_path)

    result = invoke("batch", "cancel", str(results), "--bulk", "--chunk-size", "2")

    assert result.exit_code == 0, result.output
    assert "Asked to cancel 5 run(s) in 3 request(s); 0 refused." in result.output
    assert sorted(len(r.json["filters"]["run_ids"]) for r in batch_posts(fake)) == [1, 2, 2]


def test_rerun_starts_the_failed_runs_again_with_their_inputs(
    fake: FakeGlobus, failing_flow_id: str, invoke: Invoke, tmp_path: Path
) -> None:
    started = start_batch(invoke, failing_flow_id, tmp_path)
    old = {r["run_id"]: r["line"] for r in read_records(started)}
    fake.clock.advance(60)
    output = tmp_path / "reruns.jsonl"

    result = invoke(
        "batch", "rerun", "--flow-id", failing_flow_id, "--label-prefix", "retry: ",
        "-o", str(output), "--no-progress", "--format", "json",
    )  # fmt: skip

    assert parse_json(result) == {
        "output": str(output), "chosen": 5, "started": 5, "failed": 0, "skipped": 0,
        "found": 0,
    }  # fmt: skip
    records = read_records(output)
    intents = {
        record["line"]: record["intent"]
        for record in map(json.loads, output.read_text().splitlines())
        if "intent" in record
    }
    assert sorted(r["rerun_of"] for r in records) == sorted(old)
    for record in records:
        run = fake.runs[record["run_id"]]
        n = old[record["rerun_of"]]
        assert (run.body, run.label) == ({"n": n}, f"retry: scan {n}")
        assert user_tags(run.tags) == ["new", f"rerun-of:{record['rerun_of']}"]
        # And one request tag: the batch's intent, which the exactly-once start reuses; none
        # of the old run's.
        [request_tag] = [t for t in run.tags if t.startswith("globus-runs-request:")]
        assert len(run.tags) == 3
        assert request_tag == intents[record["line"]]


def test_rerun_again_skips_what_was_rerun_and_the_reruns(
    fake: FakeGlobus, failing_flow_id: str, invoke: Invoke, tmp_path: Path
) -> None:
    start_batch(invoke, failing_flow_id, tmp_path, n=3)
    fake.clock.advance(60)
    output = tmp_path / "reruns.jsonl"
    args = ("batch", "rerun", "--flow-id", failing_flow_id, "-o", str(output), "--no-progress")
    assert invoke(*args).exit_code == 0
    fake.clock.advance(60)  # the reruns fail too

    result = invoke(*args, "--format", "json")

    assert parse_json(result) == {
        "output": str(output), "chosen": 0, "started": 0, "failed": 0, "skipped": 3,
        "found": 0,
    }  # fmt: skip
    assert len(fake.runs) == 6


def test_rerun_resumes_after_a_refused_start(
    fake: FakeGlobus, failing_flow_id: str, invoke: Invoke, tmp_path: Path
) -> None:
    start_batch(invoke, failing_flow_id, tmp_path, n=3)
    fake.clock.advance(60)
    fake.faults.add("html", route=f"/flows/flows/{failing_flow_id}/run", status=400, count=1)
    output = tmp_path / "reruns.jsonl"
    args = ("batch", "rerun", "--flow-id", failing_flow_id, "-o", str(output), "--no-progress")
    first = invoke(*args)
    assert first.exit_code == 3
    [refused] = [r for r in read_records(output) if "error" in r]

    result = invoke(*args, "--format", "json")

    assert parse_json(result)["started"] == 1
    last = read_records(output)[-1]
    assert (last["line"], last["rerun_of"]) == (refused["line"], refused["rerun_of"])
    assert "run_id" in last


def test_rerun_dry_run_lists_and_starts_nothing(
    fake: FakeGlobus, failing_flow_id: str, invoke: Invoke, tmp_path: Path
) -> None:
    started = start_batch(invoke, failing_flow_id, tmp_path, n=2)
    fake.clock.advance(60)
    output = tmp_path / "reruns.jsonl"

    result = invoke(
        "batch", "rerun", "--flow-id", failing_flow_id, "-o", str(output), "--dry-run",
        "--format", "json",
    )  # fmt: skip

    chosen = [r["run_id"] for r in parse_json(result)["would_rerun"]]
    assert sorted(chosen) == sorted(r["run_id"] for r in read_records(started))
    assert (len(fake.runs), output.exists()) == (2, False)


SUMMARY = {
    "total": 4,
    "by_status": {"ACTIVE": 1, "FAILED": 2, "SUCCEEDED": 1},
    "canceled": 1,
    "by_day": {"2026-03-01": 4},
    "ended": 3,
    "median_duration": 10.0,
    "p95_duration": 30.0,
    "failure_codes": [{"code": "ActionFailedException", "count": 1}],
}


def small_campaign(fake: FakeGlobus) -> str:
    """4 runs of one flow: one succeeded (10 s), one failed (10 s), one canceled after 30 s,
    one running; plus a run of another flow, left out by --flow-id."""
    flow_id = fake.add_flow(duration=10)
    fake.add_runs(flow_id, 1, start=START)
    fake.add_runs(flow_id, 1, start=START, outcome="FAILED")
    canceled, _running = fake.add_runs(flow_id, 2, start=START, interval=0, duration=1e6)
    fake.add_runs(fake.add_flow(), 1, start=START)
    fake.clock.advance(30)
    fake.flows_service.cancel_run(fake.runs[canceled].owner, canceled, fake.clock.now())
    return flow_id


def test_runs_summary_in_json(fake: FakeGlobus, invoke: Invoke) -> None:
    flow_id = small_campaign(fake)

    result = invoke("runs", "summary", "--flow-id", flow_id, "--format", "json")

    assert parse_json(result) == SUMMARY
    assert [(r.path, r.params["filter_flow_id"]) for r in fake.requests] == [("/runs", flow_id)]


def test_runs_summary_over_loopback(fake: FakeGlobus) -> None:
    flow_id = small_campaign(fake)
    with serve_in_thread(fake) as info:
        result = env_invoker(served_env(info))(
            "runs", "summary", "--flow-id", flow_id, "--since", "2026-03-01T00:00:00+00:00",
            "--format", "json",
        )  # fmt: skip

    assert parse_json(result) == SUMMARY


def test_runs_summary_in_text(fake: FakeGlobus, invoke: Invoke) -> None:
    flow_id = small_campaign(fake)

    result = invoke("runs", "summary", "--flow-id", flow_id)

    assert result.exit_code == 0, result.output
    assert "4 run(s); 1 canceled." in result.output
    assert "median 10.0 s, 95th percentile 30.0 s" in result.output
    assert "Most frequent failure codes: ActionFailedException (1)." in result.output
