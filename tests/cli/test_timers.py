"""``globus-runs timers ...`` against the in-process emulator."""

from __future__ import annotations

from typing import Any

import pytest

from globus_runs.testing import FakeGlobus

from .conftest import Invoke, env_invoker, parse_json, served_env

EVERY_MINUTE = {"type": "recurring", "interval_seconds": 60}


@pytest.fixture
def timer_id(fake: FakeGlobus, flow_id: str) -> str:
    """A timer that has fired three times (its runs last 10 s; the last one is running)."""
    timer_id = fake.add_timer(flow_id, {"scan": 1}, schedule=EVERY_MINUTE, name="Every minute")
    fake.clock.advance(125)
    return timer_id


def test_list_prints_the_timer_documents(fake: FakeGlobus, timer_id: str, invoke: Invoke) -> None:
    result = invoke("timers", "list", "--status", "active", "--format", "json")
    assert result.exit_code == 0
    [document] = parse_json(result)["timers"]
    assert document["job_id"] == timer_id
    assert document["name"] == "Every minute"
    assert fake.requests[-1].params == {"filter_status": "active"}


def test_list_as_text(timer_id: str, invoke: Invoke) -> None:
    result = invoke("timers", "list", "--name", "Every minute")
    assert result.exit_code == 0
    assert timer_id in result.stdout
    assert "Every minute" in result.stdout
    assert "1 timer(s)" in result.stdout


def test_show_prints_the_timer_document(fake: FakeGlobus, timer_id: str, invoke: Invoke) -> None:
    document = parse_json(invoke("timers", "show", timer_id, "--format", "json"))
    assert document["job_id"] == timer_id
    assert document["name"] == "Every minute"
    text = invoke("timers", "show", timer_id).stdout
    assert "every 60 s" in text
    assert "Every minute" in text


def test_runs_with_a_status_filter_and_a_limit(timer_id: str, invoke: Invoke) -> None:
    everything = parse_json(invoke("timers", "runs", timer_id, "--format", "json"))
    assert everything["timer_id"] == timer_id
    assert [run["status"] for run in everything["runs"]] == ["in_progress", "success", "success"]
    newest = everything["runs"][0]
    assert set(newest) == {"id", "timer_id", "status", "start_time", "end_time", "result", "raw"}
    assert newest["result"]["run_id"] == newest["id"]
    assert newest["result"]["status_code"] == 201
    assert newest["result"]["error"] is None

    succeeded = invoke("timers", "runs", timer_id, "--status", "success", "--limit", "1")
    assert succeeded.exit_code == 0
    assert "success" in succeeded.stdout
    assert "in_progress" not in succeeded.stdout
    assert "1 run(s)" in succeeded.stdout


def test_run_starts_the_timers_flow_now(
    fake: FakeGlobus, flow_id: str, timer_id: str, invoke: Invoke
) -> None:
    before = set(fake.runs)
    result = invoke("timers", "run", timer_id, "--format", "json")
    assert result.exit_code == 0, result.output
    document = parse_json(result)
    [new] = set(fake.runs) - before
    assert document["id"] == document["result"]["run_id"] == new
    assert fake.runs[new].body == {"scan": 1}
    assert fake.runs[new].flow.flow_id == flow_id

    text = invoke("timers", "run", timer_id)
    assert text.stdout.startswith("Started run ")


def test_an_unknown_timer_is_an_error(invoke: Invoke) -> None:
    result = invoke("timers", "show", "00000000-0000-4000-8000-000000000000")
    assert result.exit_code == 1
    assert "404" in result.stderr
    assert result.stderr.count("\n") == 1


def test_run_with_only_a_timers_url_starts_the_flow_beside_it(
    fake: FakeGlobus, timer_id: str
) -> None:
    # The emulator's layout (/timers beside /flows on a loopback host) says where Flows is.
    env = served_env(
        {**fake.urls(), "token": fake.token}, GLOBUS_RUNS_FLOWS_URL=None, GLOBUS_RUNS_AUTH_URL=None
    )
    before = set(fake.runs)
    result = env_invoker(env)("timers", "run", timer_id, "--format", "json")
    assert result.exit_code == 0, result.output
    [new] = set(fake.runs) - before
    assert parse_json(result)["id"] == new
    assert fake.requests[-1].path == f"/flows/{fake.runs[new].flow.flow_id}/run"


class TimersOnly:
    """The emulator's Timers alone, under ``/timers-proxy/``: a URL not saying where Flows is."""

    def __init__(self, fake: FakeGlobus) -> None:
        self.app = fake.app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope["path"]
        if not path.startswith("/timers-proxy/"):
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        inner = "/timers/" + path[len("/timers-proxy/") :]
        await self.app(dict(scope, path=inner, raw_path=inner.encode()), receive, send)


def test_run_with_a_timers_url_that_does_not_tell_where_flows_is_names_the_variable(
    fake: FakeGlobus, timer_id: str, fake_globus_server: Any
) -> None:
    timers_url = fake_globus_server.mount(TimersOnly(fake)) + "/timers-proxy/"
    env = served_env(
        {**fake.urls(), "token": fake.token, "timers_url": timers_url},
        GLOBUS_RUNS_FLOWS_URL=None,
        GLOBUS_RUNS_AUTH_URL=None,
    )
    started = len(fake.runs)
    result = env_invoker(env)("timers", "run", timer_id)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: ConfigurationError: GLOBUS_RUNS_FLOWS_URL must be set to start a timer's flow "
        "when GLOBUS_RUNS_TIMERS_URL is"
    )
    assert len(fake.runs) == started  # nothing was started anywhere
