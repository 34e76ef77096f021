"""``globus_sdk.TimersClient`` against the served emulator."""

from __future__ import annotations

import globus_sdk
import pytest

from globus_runs.testing import FakeGlobus

from .conftest import sent


def create(timers: globus_sdk.TimersClient, flow_id: str, name: str = "hourly") -> str:
    """Create an hourly flow timer of ``flow_id`` with ``globus_sdk.FlowTimer``."""
    timer = globus_sdk.FlowTimer(
        flow_id=flow_id,
        name=name,
        schedule=globus_sdk.RecurringTimerSchedule(interval_seconds=3600),
        body={"body": {"n": 1}, "tags": ["nightly"]},
    )
    job_id: str = timers.create_timer(timer)["timer"]["job_id"]
    return job_id


def test_create_timer_sends_the_flow_timer_and_answers_201(
    fake: FakeGlobus, timers: globus_sdk.TimersClient, flow_id: str
) -> None:
    timer = globus_sdk.FlowTimer(
        flow_id=flow_id,
        name="hourly",
        schedule=globus_sdk.RecurringTimerSchedule(interval_seconds=3600),
        body={"body": {"n": 1}},
    )
    created = timers.create_timer(timer)
    assert created.http_status == 201
    assert (created["timer"]["flow_id"], created["timer"]["name"]) == (flow_id, "hourly")
    [request] = sent(fake, "timers")
    assert (request.method, request.path) == ("POST", "/v2/timer")
    assert request.json == {
        "timer": {
            "timer_type": "flow",
            "flow_id": flow_id,
            "name": "hourly",
            "schedule": {"type": "recurring", "interval_seconds": 3600},
            "body": {"body": {"n": 1}},
        }
    }


def test_a_created_timer_starts_a_run_of_its_flow(
    fake: FakeGlobus, timers: globus_sdk.TimersClient, flow_id: str
) -> None:
    job_id = create(timers, flow_id)
    [run] = [run for run in fake.runs.values() if run.flow.flow_id == flow_id]
    assert (run.body, run.tags) == ({"n": 1}, ["nightly"])
    assert timers.get_job(job_id)["number_of_runs"] == 1


def test_get_job_answers_the_timer(
    fake: FakeGlobus, timers: globus_sdk.TimersClient, flow_id: str
) -> None:
    job_id = create(timers, flow_id)
    job = timers.get_job(job_id)
    assert (job["job_id"], job["name"], job["flow_id"], job["status"]) == (
        job_id,
        "hourly",
        flow_id,
        "loaded",
    )
    assert job.data == fake.get_timer_document(job_id)


def test_list_jobs_lists_the_callers_timers(timers: globus_sdk.TimersClient, flow_id: str) -> None:
    first, second = create(timers, flow_id, "one"), create(timers, flow_id, "two")
    listed = timers.list_jobs()
    assert sorted(job["job_id"] for job in listed["jobs"]) == sorted([first, second])


def test_update_job_renames_the_timer(
    fake: FakeGlobus, timers: globus_sdk.TimersClient, flow_id: str
) -> None:
    job_id = create(timers, flow_id)
    fake.clear_requests()
    renamed = timers.update_job(job_id, {"name": "renamed"})
    assert renamed["name"] == "renamed"
    [request] = sent(fake, "timers")
    assert (request.method, request.path, request.json) == (
        "PATCH",
        f"/jobs/{job_id}",
        {"name": "renamed"},
    )


def test_pause_job_makes_the_timer_inactive(timers: globus_sdk.TimersClient, flow_id: str) -> None:
    job_id = create(timers, flow_id)
    paused = timers.pause_job(job_id)
    assert paused["message"] == f"Successfully paused job {job_id}."
    assert timers.get_job(job_id)["status"] == "inactive"


def test_resume_job_with_update_credentials_sends_it_in_the_body(
    fake: FakeGlobus, timers: globus_sdk.TimersClient, flow_id: str
) -> None:
    job_id = create(timers, flow_id)
    timers.pause_job(job_id)
    fake.clear_requests()
    resumed = timers.resume_job(job_id, update_credentials=True)
    assert resumed["message"] == f"Successfully resumed job {job_id}."
    [request] = sent(fake, "timers")
    assert (request.path, request.json) == (f"/jobs/{job_id}/resume", {"update_credentials": True})
    assert timers.get_job(job_id)["status"] == "loaded"
    assert fake.timers[job_id].resumes[-1].update_credentials is True


def test_delete_job_marks_the_timer_deleting_then_deleted(
    fake: FakeGlobus, timers: globus_sdk.TimersClient, flow_id: str
) -> None:
    job_id = create(timers, flow_id)
    deleted = timers.delete_job(job_id)
    assert (deleted["job_id"], deleted["status"]) == (job_id, "delete_in_progress")
    fake.clock.advance(5 + 1)  # a delete takes 5 emulated seconds (docs/guides/testing.md)
    gone = timers.get_job(job_id)
    assert (gone["status"], gone["activity"], gone["next_run"]) == ("deleted", None, None)
    assert job_id not in [job["job_id"] for job in timers.list_jobs()["jobs"]]
    with pytest.raises(globus_sdk.TimersAPIError) as caught:
        timers.pause_job(job_id)
    assert caught.value.http_status == 409
