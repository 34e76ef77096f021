"""Serving the emulator over real sockets: the command, the subprocess and thread helpers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from globus_runs import FlowsClient, RetryEvent, RetryPolicy
from globus_runs.testing import FakeGlobus, serve_in_subprocess, serve_in_thread
from globus_runs.testing.__main__ import main

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]


async def test_serve_in_subprocess_announces_a_working_server() -> None:
    with serve_in_subprocess(token="secret", speed=50.0) as info:
        assert set(info) == {
            "flows_url",
            "timers_url",
            "auth_url",
            "port",
            "token",
            "identity_id",
            "flow_ids",
            "flows",
            "timer_ids",
            "client_ids",
        }
        assert info["token"] == "secret"
        assert len(info["flow_ids"]) == 5  # succeeds, fails, inactive, web input, consent
        flows_url: str = info["flows_url"]
        assert flows_url.startswith("http://127.0.0.1:")
        assert flows_url.endswith("/flows/")
        assert not flows_url.startswith("http://127.0.0.1:0/")
        assert info["timers_url"] == flows_url.replace("/flows/", "/timers/")
        async with httpx.AsyncClient(
            base_url=flows_url, headers={"Authorization": "Bearer secret"}
        ) as client:
            started = await client.post(f"flows/{info['flow_ids'][0]}/run", json={"body": {}})
            assert started.status_code == 201
            listed = await client.get("runs")
    # Newest first: the run started here, then the sample timer's run of startup.
    newest, timer_run = listed.json()["runs"]
    assert newest["run_id"] == started.json()["run_id"]
    assert timer_run["flow_id"] == info["flow_ids"][0]


def test_the_command_prints_exactly_one_json_line() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "globus_runs.testing", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    try:
        info = json.loads(process.stdout.readline())
        response = httpx.get(
            info["flows_url"] + "runs",
            headers={"Authorization": f"Bearer {info['token']}"},
        )
        assert response.status_code == 200
        assert len(info["token"]) >= 20  # a random token when none is given
    finally:
        process.terminate()
        rest, _ = process.communicate(timeout=10)
    assert rest == ""


def test_the_sample_flows_succeed_fail_go_inactive_and_wait_for_a_person() -> None:
    with serve_in_subprocess(speed=1000.0) as info:
        headers = {"Authorization": f"Bearer {info['token']}"}
        with httpx.Client(base_url=info["flows_url"], headers=headers) as client:
            run_ids = [
                client.post(f"flows/{flow_id}/run", json={"body": {}}).json()["run_id"]
                for flow_id in info["flow_ids"]
            ]
            # At 1000x, three emulated seconds pass in 3 ms; wait well beyond.
            time.sleep(0.05)
            statuses = [client.get(f"runs/{run_id}").json()["status"] for run_id in run_ids]
    # The web-input flow's run waits for an answer; the consent flow's run for consent.
    assert statuses == ["SUCCEEDED", "FAILED", "INACTIVE", "ACTIVE", "INACTIVE"]


def test_serving_on_a_non_loopback_host_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--port", "0", "--host", "0.0.0.0"])
    assert exited.value.code == 2
    assert "loopback" in capsys.readouterr().err


async def test_serve_in_thread_serves_the_given_fake() -> None:
    fake = FakeGlobus()
    flow_id = fake.add_flow()
    [run_id] = fake.add_runs(flow_id, 1)
    with serve_in_thread(fake) as info:
        assert info["flow_ids"] == [flow_id]
        assert fake.flows_url == info["flows_url"]
        async with httpx.AsyncClient(
            base_url=info["flows_url"], headers={"Authorization": f"Bearer {fake.token}"}
        ) as client:
            response = await client.get(f"runs/{run_id}")
    assert response.json()["run_id"] == run_id
    assert [(r.method, r.path) for r in fake.requests] == [("GET", f"/runs/{run_id}")]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("418", "unknown fault kind"),
        ("503:often", "not a number"),
        ("503:1.5", "not within 0..1"),
        ("", "unknown fault kind"),
    ],
)
def test_bad_fault_specs_are_usage_errors(
    spec: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--port", "0", "--fault", spec])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
    with pytest.raises(ValueError, match=message), serve_in_subprocess(faults=[spec]):
        pass  # refused before any process starts


async def test_a_served_emulator_injects_the_faults_it_was_given() -> None:
    with serve_in_subprocess(faults=["503:1:/flows/runs"]) as info:
        headers = {"Authorization": f"Bearer {info['token']}"}
        async with httpx.AsyncClient(base_url=info["flows_url"], headers=headers) as client:
            listed = await client.get("runs")
            started = await client.post(f"flows/{info['flow_ids'][0]}/run", json={"body": {}})
    assert listed.status_code == 503
    assert listed.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert started.status_code == 201  # another route: no fault


async def test_a_client_rides_out_the_faults_of_a_served_emulator() -> None:
    retried: list[RetryEvent] = []
    retry = RetryPolicy(
        backoff_initial=0.001, backoff_max=0.01, max_retries=8, on_retry=retried.append
    )
    # Faults on reads only: a start that meets one is (rightly) not sent again.
    faults = ["503:0.3:/flows/runs/*", "reset_before:0.1:/flows/runs/*"]
    with serve_in_subprocess(faults=faults, seed=7) as info:
        async with FlowsClient(
            authorizer=info["token"], base_url=info["flows_url"], retry=retry, concurrency=8
        ) as flows:
            runs = [await flows.run_flow(info["flow_ids"][0], {}) for _ in range(3)]
            results = await flows.batch_get_runs([run.run_id for run in runs] * 10)
    assert [result.unwrap().run_id for result in results] == [run.run_id for run in runs] * 10
    assert retried  # the faults fired, and were retried
    assert {type(event.error).__name__ for event in retried} <= {"ServerError", "NetworkError"}
