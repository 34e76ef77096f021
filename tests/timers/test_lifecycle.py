"""The timer lifecycle through TimersClient: the exact requests sent, the models returned."""

from __future__ import annotations

from datetime import timedelta

import pytest

from globus_runs import Timer, TimersClient, __version__
from globus_runs.testing import FakeGlobus
from tests.conftest import Payloads

from .conftest import EVERY_MINUTE, MANAGER, MONITOR, START, summary, timers_requests

pytestmark = pytest.mark.anyio


def _only_request(fake: FakeGlobus) -> tuple[str, str, list[tuple[str, str]], object]:
    [request] = timers_requests(fake)
    return summary(request)


async def test_create_flow_timer_sends_the_documented_body(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    await timers.create_flow_timer(
        flow_id,
        {"path": "/data"},
        name="nightly",
        schedule=EVERY_MINUTE,
        run_managers=[MANAGER],
        run_monitors=[MONITOR],
        tags=["beam"],
    )

    [request] = timers_requests(fake)
    assert (request.method, request.path, request.query) == ("POST", "/v2/timer", [])
    assert request.json == {
        "timer": {
            "timer_type": "flow",
            "flow_id": flow_id,
            "name": "nightly",
            "schedule": EVERY_MINUTE,
            "body": {
                "body": {"path": "/data"},
                "run_managers": [MANAGER],
                "run_monitors": [MONITOR],
                "tags": ["beam"],
            },
        }
    }
    assert request.headers["authorization"] == "Bearer test-token"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith(f"globus-runs/{__version__}")
    assert request.status_code == 201


async def test_create_flow_timer_returns_the_new_timer(timers: TimersClient, flow_id: str) -> None:
    timer = await timers.create_flow_timer(
        flow_id, {"path": "/data"}, name="nightly", schedule=EVERY_MINUTE, tags=["beam"]
    )

    assert isinstance(timer, Timer)
    assert timer == Timer(
        timer_id=timer.timer_id,
        name="nightly",
        timer_type="flow",
        flow_id=flow_id,
        status="new",
        # Given no start, the schedule starts when it was created.
        schedule={**EVERY_MINUTE, "start": "2026-03-01T12:00:00.000000+00:00"},
        callback_url=f"https://flows.automate.globus.org/flows/{flow_id}/run",
        callback_body={"body": {"path": "/data"}, "tags": ["beam"]},
        submitted_at=START,
        last_ran_at=None,
        next_run=START,
        number_of_runs=0,
        number_of_errors=0,
        inactive_reason=None,
        activity={"code": "awaiting_next_run", "next_run": "2026-03-01T12:00:00.000000+00:00"},
        start=START,
        interval=60.0,
        stop_after={"date": None, "n_runs": None},
        scope=f"https://auth.globus.org/scopes/{flow_id}/flow_{flow_id.replace('-', '_')}_user",
        body={"body": {"path": "/data"}, "tags": ["beam"]},
    )
    assert timer.raw["results"] == []


async def test_the_created_timer_has_every_production_field(
    timers: TimersClient, flow_id: str, payloads: Payloads
) -> None:
    timer = await timers.create_flow_timer(
        flow_id,
        {"input_key": "input_value"},
        name="Very Cool Timer",
        schedule={"type": "once", "datetime": "2026-03-02T05:00:00+00:00"},
        run_managers=[MANAGER],
    )

    production = payloads.json("timers_create_flow_timer_201")["timer"]
    assert set(production) <= set(timer.raw)
    same = ("callback_body", "inactive_reason", "interval", "n_errors", "n_runs", "name")
    assert {key: timer.raw[key] for key in same} == {
        **{key: production[key] for key in same},
        "callback_body": {"body": {"input_key": "input_value"}, "run_managers": [MANAGER]},
    }
    assert timer.raw["stop_after"] == {"date": None, "n_runs": 1}
    assert timer.raw["scope"] == (
        f"https://auth.globus.org/scopes/{flow_id}/flow_{flow_id.replace('-', '_')}_user"
    )
    assert timer.next_run == START.replace(day=2, hour=5)


async def test_get_timer_sends_a_plain_get_and_counts_the_runs(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE, name="minutely")
    fake.clock.advance(140)  # fired at +0, +60 and +120 s; the last run is 20 s in

    timer = await timers.get_timer(timer_id)

    assert _only_request(fake) == ("GET", f"/jobs/{timer_id}", [], None)
    assert (timer.timer_id, timer.name, timer.status) == (timer_id, "minutely", "loaded")
    assert (timer.number_of_runs, timer.number_of_errors) == (3, 0)
    assert timer.last_ran_at == START + timedelta(seconds=120)
    assert timer.next_run == START + timedelta(seconds=180)
    assert timer.activity == {
        "code": "run_in_progress",
        "start_timestamp": "2026-03-01T12:02:00.000000+00:00",
        "duration_seconds": 20.0,
    }


async def test_list_timers_sends_the_filters_and_returns_the_matching_timers(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    nightly = fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE, name="Nightly scan")
    fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE, name="weekly scan")
    once = fake.add_timer(flow_id, {}, name="nightly once")
    fake.clock.advance(1)  # the one-time timer fires and ends

    found = await timers.list_timers(filter_status=["active", "ended"], filter_name="nightly")

    assert _only_request(fake) == (
        "GET",
        "/jobs/",
        [("filter_status", "active,ended"), ("filter_name", "nightly")],
        None,
    )
    assert [(t.timer_id, t.status) for t in found] == [(nightly, "loaded"), (once, "ended")]


async def test_list_timers_sends_order_submission_bounds_and_result_count(
    fake: FakeGlobus, timers: TimersClient
) -> None:
    await timers.list_timers(
        order="submitted_at desc",
        submitted_after=START - timedelta(days=1),
        submitted_before=START,
        result_count=2,
    )

    assert _only_request(fake) == (
        "GET",
        "/jobs/",
        [
            ("submitted_after", "2026-02-28T12:00:00+00:00"),
            ("submitted_before", "2026-03-01T12:00:00+00:00"),
            ("order", "submitted_at desc"),
            ("result_count", "2"),
        ],
        None,
    )


async def test_list_timers_without_filters_lists_every_timer_of_the_caller(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    mine = [fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE) for _ in range(3)]
    fake.add_timer(flow_id, {}, owner="00000000-0000-4000-8000-0000000000aa")

    found = await timers.list_timers()

    assert _only_request(fake) == ("GET", "/jobs/", [], None)
    assert [timer.timer_id for timer in found] == mine


async def test_update_timer_patches_the_name(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE, name="old")

    timer = await timers.update_timer(timer_id, name="new")

    assert _only_request(fake) == ("PATCH", f"/jobs/{timer_id}", [], {"name": "new"})
    assert (timer.timer_id, timer.name) == (timer_id, "new")
    assert (await timers.get_timer(timer_id)).name == "new"


async def test_pause_timer_posts_pause_and_the_timer_stops_firing(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE)
    fake.clock.advance(30)

    await timers.pause_timer(timer_id)
    assert _only_request(fake) == ("POST", f"/jobs/{timer_id}/pause", [], None)
    fake.clock.advance(600)
    timer = await timers.get_timer(timer_id)

    assert (timer.status, timer.number_of_runs, timer.next_run) == ("inactive", 1, None)
    assert timer.inactive_reason == {"cause": "user", "detail": None}
    assert timer.activity == {"code": "paused", "reason": "user"}


async def test_resume_timer_with_update_credentials_sends_it_in_query_and_body(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE)
    await timers.pause_timer(timer_id)
    fake.clock.advance(90)
    fake.clear_requests()

    await timers.resume_timer(timer_id, update_credentials=True)

    assert _only_request(fake) == (
        "POST",
        f"/jobs/{timer_id}/resume",
        [("update_credentials", "true")],
        {"update_credentials": True},
    )
    [resume] = fake.timers[timer_id].resumes
    assert (resume.time, resume.update_credentials) == (START + timedelta(seconds=90), True)
    timer = await timers.get_timer(timer_id)
    assert (timer.status, timer.inactive_reason) == ("loaded", None)
    assert timer.next_run == START + timedelta(seconds=120)


async def test_resume_timer_by_default_sends_update_credentials_false(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE)
    await timers.pause_timer(timer_id)
    fake.clear_requests()

    await timers.resume_timer(timer_id)

    assert _only_request(fake) == (
        "POST",
        f"/jobs/{timer_id}/resume",
        [("update_credentials", "false")],
        {"update_credentials": False},
    )
    assert [r.update_credentials for r in fake.timers[timer_id].resumes] == [False]


async def test_resume_timer_with_update_credentials_none_sends_nothing_else(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE)
    await timers.pause_timer(timer_id)
    fake.clear_requests()

    await timers.resume_timer(timer_id, update_credentials=None)

    [request] = timers_requests(fake)
    assert summary(request) == ("POST", f"/jobs/{timer_id}/resume", [], None)
    assert "content-type" not in request.headers
    assert [r.update_credentials for r in fake.timers[timer_id].resumes] == [False]


async def test_resume_timer_with_update_credentials_false_sends_false(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    timer_id = fake.add_timer(flow_id, {}, schedule=EVERY_MINUTE)
    await timers.pause_timer(timer_id)
    fake.clear_requests()

    await timers.resume_timer(timer_id, update_credentials=False)

    assert _only_request(fake) == (
        "POST",
        f"/jobs/{timer_id}/resume",
        [("update_credentials", "false")],
        {"update_credentials": False},
    )
    assert [r.update_credentials for r in fake.timers[timer_id].resumes] == [False]
    assert (await timers.get_timer(timer_id)).status == "loaded"


async def test_delete_timer_returns_it_deleting_then_it_is_gone(
    fake: FakeGlobus, timers: TimersClient, flow_id: str
) -> None:
    in_a_minute = {**EVERY_MINUTE, "start": (START + timedelta(seconds=60)).isoformat()}
    timer_id = fake.add_timer(flow_id, {}, schedule=in_a_minute)

    timer = await timers.delete_timer(timer_id)

    assert _only_request(fake) == ("DELETE", f"/jobs/{timer_id}", [], None)
    assert (timer.timer_id, timer.status, timer.next_run) == (
        timer_id,
        "delete_in_progress",
        None,
    )
    fake.clock.advance(5)
    assert (await timers.get_timer(timer_id)).status == "deleted"
    assert await timers.list_timers() == []
    fake.clock.advance(120)
    assert fake.runs == {}  # it never fired
