"""When the emulated timers fire, and what each firing records."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from globus_runs.testing import FakeGlobus

from .conftest import EVERY_MINUTE, START

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.in_process_only("the emulator's own answers, read with raw httpx: no client path"),
]


def at(seconds: float) -> str:
    """The emulator's rendering of ``START + seconds``."""
    return (START + timedelta(seconds=seconds)).isoformat(timespec="microseconds")


async def _job(http: httpx.AsyncClient, timer_id: str, **params: Any) -> dict[str, Any]:
    response = await http.get(f"/jobs/{timer_id}", params=params)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def _ran_at(job: dict[str, Any]) -> list[str]:
    return [result["start_timestamp"] for result in job["results"]["data"]]


async def test_a_one_time_timer_fires_at_its_moment_then_ends(
    fake: FakeGlobus, http: httpx.AsyncClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule={"type": "once", "datetime": at(90)})
    fake.clock.advance(89)
    before = await _job(http, timer_id)
    fake.clock.advance(1)
    after = await _job(http, timer_id)

    assert (before["status"], before["next_run"], before["n_runs"]) == ("new", at(90), 0)
    assert (after["status"], after["next_run"], after["n_runs"]) == ("ended", None, 1)
    assert after["last_ran_at"] == at(90)
    assert _ran_at(after) == [at(90)]


async def test_a_one_time_timer_without_a_moment_fires_at_once(
    fake: FakeGlobus, http: httpx.AsyncClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule={"type": "once"})

    job = await _job(http, timer_id)

    assert _ran_at(job) == [at(0)]
    assert job["status"] == "ended"


async def test_a_recurring_timer_starts_at_its_start(
    fake: FakeGlobus, http: httpx.AsyncClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule={**EVERY_MINUTE, "start": at(600)})
    fake.clock.advance(725)

    job = await _job(http, timer_id)

    assert _ran_at(job) == [at(720), at(660), at(600)]
    assert (job["start"], job["interval"], job["next_run"]) == (at(600), 60.0, at(780))


async def test_a_recurring_timer_ends_after_its_count_of_iterations(
    fake: FakeGlobus, http: httpx.AsyncClient, flow_id: str
) -> None:
    schedule = {**EVERY_MINUTE, "end": {"condition": "iterations", "count": 3}}
    timer_id = fake.add_timer(flow_id, {}, schedule=schedule)
    fake.clock.advance(3600)

    job = await _job(http, timer_id)

    assert _ran_at(job) == [at(120), at(60), at(0)]
    assert (job["status"], job["next_run"], job["activity"]) == ("ended", None, None)
    assert job["stop_after"] == {"date": None, "n_runs": 3}


async def test_a_recurring_timer_ends_at_its_end_time(
    fake: FakeGlobus, http: httpx.AsyncClient, flow_id: str
) -> None:
    schedule = {**EVERY_MINUTE, "end": {"condition": "time", "datetime": at(150)}}
    timer_id = fake.add_timer(flow_id, {}, schedule=schedule)
    fake.clock.advance(3600)

    job = await _job(http, timer_id)

    assert _ran_at(job) == [at(120), at(60), at(0)]
    assert job["status"] == "ended"
    assert job["stop_after"] == {"date": at(150), "n_runs": None}


async def test_a_result_records_the_submission_and_follows_the_run(
    fake: FakeGlobus, http: httpx.AsyncClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {"x": 1}, schedule=EVERY_MINUTE, tags=["t"])
    fake.clock.advance(10)
    [running] = (await _job(http, timer_id))["results"]["data"]
    fake.clock.advance(20)
    [finished] = (await _job(http, timer_id))["results"]["data"]

    run_id = running["resource_id"]
    submitted = running["data"]
    assert (submitted["run_id"], submitted["status"], submitted["tags"]) == (
        run_id,
        "ACTIVE",
        ["t"],
    )
    assert submitted["start_time"] == at(0)
    assert running == {
        "ran_at": "2026-03-01T12:00:00.000000",  # no offset, as the service writes it
        "start_timestamp": at(0),
        "end_timestamp": None,
        "run_status": "ACTIVE",
        "status": 201,
        "http_status_submission": 201,
        "http_status_polled": 200,
        "resource_id": run_id,
        "data": submitted,
        "errors": None,
    }
    assert finished == {**running, "run_status": "SUCCEEDED", "end_timestamp": at(30)}


async def test_activity_shows_a_run_in_progress_then_awaiting_the_next(
    fake: FakeGlobus, http: httpx.AsyncClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE)
    fake.clock.advance(29)
    during = await _job(http, timer_id)
    fake.clock.advance(1)
    after = await _job(http, timer_id)

    assert during["activity"] == {
        "code": "run_in_progress",
        "start_timestamp": "2026-03-01T12:00:00.000000+00:00",
        "duration_seconds": 29.0,
    }
    assert after["activity"] == {
        "code": "awaiting_next_run",
        "next_run": "2026-03-01T12:01:00.000000+00:00",
    }


async def test_a_failed_submission_records_the_error_and_counts_it(
    fake: FakeGlobus, http: httpx.AsyncClient
) -> None:
    missing = "00000000-0000-4000-8000-00000000dead"
    timer_id = fake.add_timer(missing, {}, schedule=EVERY_MINUTE)
    fake.clock.advance(61)

    job = await _job(http, timer_id)

    assert (job["n_runs"], job["n_errors"]) == (2, 2)
    assert (job["number_of_runs"], job["number_of_errors"]) == (2, 2)
    result = job["results"]["data"][0]
    assert result["errors"]["error"] == {
        "code": "NOT_FOUND",
        "detail": f"Flow {missing} not found",
    }
    assert (result["status"], result["http_status_submission"]) == (404, 404)
    assert (result["resource_id"], result["data"], result["run_status"]) == (None, None, "FAILED")
    assert (result["end_timestamp"], result["http_status_polled"]) == (
        result["start_timestamp"],
        None,
    )


async def test_a_flow_deleted_after_creation_makes_later_submissions_fail(
    fake: FakeGlobus, http: httpx.AsyncClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE)
    fake.clock.advance(1)
    await _job(http, timer_id)
    del fake.flows_service.flows[flow_id]
    fake.clock.advance(60)

    job = await _job(http, timer_id)

    assert [r["status"] for r in job["results"]["data"]] == [404, 201]
    assert (job["n_runs"], job["n_errors"]) == (2, 1)


async def test_a_paused_timer_skips_the_firings_it_missed(
    fake: FakeGlobus, http: httpx.AsyncClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE)
    assert (await http.post(f"/jobs/{timer_id}/pause")).status_code == 200
    fake.clock.advance(150)
    assert (await http.post(f"/jobs/{timer_id}/resume")).status_code == 200
    resumed = await _job(http, timer_id)
    fake.clock.advance(30)

    job = await _job(http, timer_id)

    assert resumed["next_run"] == at(180)
    assert _ran_at(job) == [at(180), at(0)]


async def test_a_one_time_timer_that_missed_its_moment_fires_when_resumed(
    fake: FakeGlobus, http: httpx.AsyncClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule={"type": "once", "datetime": at(60)})
    await http.post(f"/jobs/{timer_id}/pause")
    fake.clock.advance(120)
    await http.post(f"/jobs/{timer_id}/resume")

    job = await _job(http, timer_id)

    assert _ran_at(job) == [at(120)]
    assert job["status"] == "ended"


async def test_flows_lists_the_runs_timers_started_without_asking_timers(
    fake: FakeGlobus, flow_id: str
) -> None:
    fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE)
    fake.clock.advance(61)

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app),
        base_url="http://127.0.0.1/flows",
        headers={"Authorization": f"Bearer {fake.token}"},
    ) as flows:
        page = (await flows.get("/runs")).json()

    assert sorted(run["start_time"] for run in page["runs"]) == [at(0), at(60)]


async def test_a_transfer_timer_records_a_transfer_task(
    fake: FakeGlobus, http: httpx.AsyncClient
) -> None:
    timer_id = fake.add_timer(timer_type="transfer", body={"source_endpoint_id": "x"})

    job = await _job(http, timer_id)

    [result] = job["results"]["data"]
    assert (job["timer_type"], job["flow_id"], job["scope"]) == ("transfer", None, None)
    assert job["callback_url"] == "https://actions.automate.globus.org/transfer/transfer/run"
    assert (result["status"], result["run_status"]) == (202, "SUCCEEDED")
    assert result["resource_id"] == result["data"]["action_id"]
    assert fake.runs == {}


def test_add_timer_checks_the_schedule(fake: FakeGlobus, flow_id: str) -> None:
    with pytest.raises(ValueError, match=r"equal to 60: schedule\.interval_seconds"):
        fake.add_timer(flow_id, {}, schedule={"type": "recurring", "interval_seconds": 30})


async def test_a_firing_that_fails_transiently_is_retried_until_it_starts_the_run(
    fake: FakeGlobus, http: httpx.AsyncClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE)
    other_id = fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE)
    fake.fail_timer_submissions(2, timer_id=timer_id)  # the attempts at 0 s and 30 s
    fake.clock.advance(45)
    retrying = await _job(http, timer_id)
    other = await _job(http, other_id)
    fake.clock.advance(15)
    retried = await _job(http, timer_id)
    fake.clock.advance(30)
    after = await _job(http, timer_id)

    assert retrying["activity"] == {"code": "retrying", "start_timestamp": at(0)}
    assert (retrying["status"], retrying["n_runs"], retrying["n_errors"]) == ("new", 0, 0)
    assert retrying["results"]["data"] == []
    assert _ran_at(other) == [at(0)]  # only the timer named fails
    # The third attempt starts the run; the moment that passed meanwhile is not made up.
    assert _ran_at(retried) == [at(60)]
    assert retried["results"]["data"][0]["run_status"] == "ACTIVE"
    assert retried["activity"] == {
        "code": "run_in_progress",
        "start_timestamp": at(60),
        "duration_seconds": 0.0,
    }
    assert (retried["status"], retried["n_runs"], retried["n_errors"]) == ("loaded", 1, 0)
    assert after["activity"] == {"code": "awaiting_next_run", "next_run": at(120)}


async def test_a_retried_one_time_firing_runs_once_then_the_timer_ends(
    fake: FakeGlobus, http: httpx.AsyncClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule={"type": "once", "datetime": at(10)})
    fake.fail_timer_submissions(1)  # any timer's next attempt
    fake.clock.advance(39)
    retrying = await _job(http, timer_id)
    fake.clock.advance(1 + 30)
    done = await _job(http, timer_id)

    assert retrying["activity"] == {"code": "retrying", "start_timestamp": at(10)}
    assert _ran_at(done) == [at(40)]
    assert (done["status"], done["activity"]) == ("ended", None)
    assert done["results"]["data"][0]["run_status"] == "SUCCEEDED"


async def test_pausing_a_retrying_timer_drops_the_retries(
    fake: FakeGlobus, http: httpx.AsyncClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE)
    fake.fail_timer_submissions(1, timer_id=timer_id)
    fake.clock.advance(10)
    assert (await _job(http, timer_id))["activity"]["code"] == "retrying"
    assert (await http.post(f"/jobs/{timer_id}/pause")).status_code == 200
    paused = await _job(http, timer_id)
    fake.clock.advance(40)  # past the retry's moment: nothing fires while paused
    assert (await http.post(f"/jobs/{timer_id}/resume", json={})).status_code == 200
    resumed = await _job(http, timer_id)

    assert paused["activity"] == {"code": "paused", "reason": "user"}
    assert resumed["activity"] == {"code": "awaiting_next_run", "next_run": at(60)}
    assert resumed["n_runs"] == 0


def test_submission_failures_are_counted_from_one(fake: FakeGlobus) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        fake.fail_timer_submissions(0)
