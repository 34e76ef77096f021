"""globus-sdk's published response fixtures, parsed by our models without losing anything.

Each fixture is a production-shaped body the official SDK tests against; every field a
model names must carry the document's value, and ``.raw`` the whole document.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import globus_sdk
import pytest
from globus_sdk.testing import RegisteredResponse, ResponseList, get_response_set

from globus_runs import Run, RunDefinition, RunLogPage, RunPage, Timer, TimerRun
from globus_runs._converter import parse_datetime, structure
from globus_runs.timers._parse import parse_results, timer_from_document


def _responses(method: Any) -> Iterator[tuple[str, RegisteredResponse]]:
    response_set = get_response_set(method)
    for case in response_set.cases():
        found = response_set.lookup(case)
        responses = found.responses if isinstance(found, ResponseList) else [found]
        for response in responses:
            if response.status < 300 and isinstance(response.json, dict):
                yield case, response


def _cases(*methods: Any) -> list[Any]:
    return [
        pytest.param(response.json, id=f"{method.__name__}-{case}")
        for method in methods
        for case, response in _responses(method)
    ]


def _time(value: Any) -> datetime | None:
    return None if value is None else parse_datetime(value)


def _jobs(document: dict[str, Any]) -> list[dict[str, Any]]:
    if "jobs" in document:
        return list(document["jobs"])
    return [document.get("timer", document)]


TIMER_CASES = _cases(
    globus_sdk.TimersClient.get_job,
    globus_sdk.TimersClient.list_jobs,
    globus_sdk.TimersClient.create_job,
    globus_sdk.TimersClient.create_timer,
    globus_sdk.TimersClient.update_job,
    globus_sdk.TimersClient.delete_job,
)


def test_the_timer_fixtures_are_found() -> None:
    assert len(TIMER_CASES) >= 8


@pytest.mark.parametrize("document", TIMER_CASES)
def test_every_timer_fixture_parses_without_loss(document: dict[str, Any]) -> None:
    for job in _jobs(document):
        timer = timer_from_document(job)
        assert timer.raw is job
        assert timer.timer_id == job["job_id"]
        for name in ("name", "status", "schedule", "callback_url", "callback_body", "scope"):
            assert getattr(timer, name) == job.get(name), name
        for name in ("inactive_reason", "activity"):
            assert getattr(timer, name) == job.get(name), name
        for name in ("submitted_at", "last_ran_at", "next_run"):
            assert getattr(timer, name) == _time(job.get(name)), name
        assert timer.number_of_runs == job.get("number_of_runs", job.get("n_runs", 0))
        assert timer.number_of_errors == job.get("number_of_errors", job.get("n_errors", 0))
        assert timer.timer_type in {"flow", "transfer"}
        _check_schedule_fields(timer, job)
        _check_results(timer, job)


def _check_schedule_fields(timer: Timer, job: dict[str, Any]) -> None:
    schedule = job.get("schedule") or {}
    if "start" in job:
        assert timer.start == _time(job["start"])
    else:
        start = schedule.get("datetime") if schedule["type"] == "once" else schedule.get("start")
        assert timer.start == _time(start)
    if job.get("interval") is not None:
        assert timer.interval == job["interval"]
    elif schedule.get("type") == "recurring":
        assert timer.interval == schedule["interval_seconds"]
    else:
        assert timer.interval is None
    if "stop_after" in job:
        assert timer.stop_after == job["stop_after"]
    if "body" in job:
        assert timer.body == job["body"]
    elif timer.timer_type == "flow":
        assert timer.body == job["callback_body"]
    else:
        assert timer.body == job["callback_body"]["body"]


def _check_results(timer: Timer, job: dict[str, Any]) -> None:
    runs, _ = parse_results(job, timer.timer_id)
    results = job.get("results") or []
    entries = results["data"] if isinstance(results, dict) else results
    assert len(runs) == len(entries)
    for run, entry in zip(runs, entries, strict=True):
        _check_run(run, entry)


def _check_run(run: TimerRun, entry: dict[str, Any]) -> None:
    assert run.raw is entry
    data = entry.get("data") or {}
    assert run.id == entry.get("resource_id", data.get("run_id", data.get("action_id")))
    assert run.ran_at == _time(entry.get("ran_at"))
    assert run.start_time == _time(entry.get("start_timestamp") or entry.get("ran_at"))
    assert run.end_time == _time(entry.get("end_timestamp"))
    for name in ("next_check_timestamp", "last_check_timestamp"):
        assert getattr(run, name) == _time(entry.get(name)), name
    assert run.http_status_polled == entry.get("http_status_polled")
    assert run.result.status_code == entry.get("http_status_submission", entry.get("status"))


def test_the_transfer_timer_fixture_names_its_task_id_as_the_run_id() -> None:
    [(_, response)] = [
        item for item in _responses(globus_sdk.TimersClient.get_job) if item[0] == "default"
    ]
    document: Any = response.json
    [run], _ = parse_results(document, document["job_id"])
    assert run.id == "15jfdBESgveZQ"


RUN_DOCUMENTS = _cases(
    globus_sdk.FlowsClient.get_run,
    globus_sdk.FlowsClient.cancel_run,
    globus_sdk.FlowsClient.update_run,
    globus_sdk.FlowsClient.delete_run,
    globus_sdk.SpecificFlowClient.run_flow,
    globus_sdk.SpecificFlowClient.resume_run,
)
RUN_PAGES = _cases(globus_sdk.FlowsClient.list_runs)
RUN_STRS = ("flow_title", "display_status", "label", "run_owner", "user_role")
RUN_LISTS = ("tags", "run_managers", "run_monitors", "user_roles")
RUN_TIMES = ("start_time", "completion_time", "flow_last_updated")


def test_the_flows_fixtures_are_found() -> None:
    assert len(RUN_DOCUMENTS) >= 6
    assert RUN_PAGES


def _check_flow_run(document: dict[str, Any]) -> None:
    run = structure(document, Run)
    assert run.raw == document
    assert run.run_id == document.get("run_id", document.get("action_id"))
    assert (run.flow_id, run.status) == (document["flow_id"], document["status"])
    for name in RUN_STRS:
        assert getattr(run, name) == document.get(name), name
    for name in RUN_LISTS:
        assert getattr(run, name) == (document.get(name) or []), name
    for name in RUN_TIMES:
        assert getattr(run, name) == _time(document.get(name)), name
    assert run.details == document.get("details")
    assert run.flow_description == document.get("flow_description")
    assert run.blocking_web_input_id == document.get("blocking_web_input_id")


@pytest.mark.parametrize("document", RUN_DOCUMENTS)
def test_every_run_fixture_parses_without_loss(document: dict[str, Any]) -> None:
    _check_flow_run(document)


@pytest.mark.parametrize("document", RUN_PAGES)
def test_every_run_page_fixture_parses_without_loss(document: dict[str, Any]) -> None:
    page = structure(document, RunPage)
    runs: list[dict[str, Any]] = document.get("runs", document.get("actions")) or []
    assert [run.run_id for run in page.runs] == [
        run.get("run_id", run.get("action_id")) for run in runs
    ]
    assert page.has_next_page == document.get("has_next_page", False)
    assert page.marker == document.get("marker")
    for run in runs:
        _check_flow_run(run)


@pytest.mark.parametrize("document", _cases(globus_sdk.FlowsClient.get_run_logs))
def test_every_run_log_fixture_parses_without_loss(document: dict[str, Any]) -> None:
    page = structure(document, RunLogPage)
    assert page.raw is document
    assert (page.has_next_page, page.marker, page.limit) == (
        document.get("has_next_page", False),
        document.get("marker"),
        document.get("limit"),
    )
    for entry, item in zip(page.entries, document["entries"], strict=True):
        assert entry.raw is item
        assert (entry.time, entry.code) == (_time(item["time"]), item["code"])
        assert (entry.description, entry.details) == (
            item.get("description", ""),
            item.get("details"),
        )


@pytest.mark.parametrize("document", _cases(globus_sdk.FlowsClient.get_run_definition))
def test_every_run_definition_fixture_parses_without_loss(document: dict[str, Any]) -> None:
    definition = structure(document, RunDefinition)
    assert definition.raw is document
    assert (definition.flow_id, definition.definition, definition.input_schema) == (
        document["flow_id"],
        document["definition"],
        document.get("input_schema"),
    )
