"""Serving the emulator over real sockets: the command, the subprocess and thread helpers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from globus_runs.testing import FakeGlobus, serve_in_subprocess, serve_in_thread
from globus_runs.testing.__main__ import main

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]


async def test_serve_in_subprocess_announces_a_working_server() -> None:
    with serve_in_subprocess(token="secret", speed=50.0) as info:
        assert set(info) == {"flows_url", "timers_url", "auth_url", "token", "flow_ids"}
        assert info["token"] == "secret"
        assert len(info["flow_ids"]) == 3
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
    assert [run["run_id"] for run in listed.json()["runs"]] == [started.json()["run_id"]]


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


def test_the_sample_flows_succeed_fail_and_go_inactive() -> None:
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
    assert statuses == ["SUCCEEDED", "FAILED", "INACTIVE"]


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
