"""The command line configured by its environment variables, against emulators on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from globus_runs.testing import FakeGlobus, serve_in_subprocess

from .conftest import CONFIG_VARIABLES, PLAIN_OUTPUT, env_invoker, parse_json, served_env

FLOWS_ALL = "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/all"
TIMERS = "https://auth.globus.org/scopes/524230d7-ea86-4a52-8312-86065a9e0417/timer"


def scope_of(form: bytes) -> list[str]:
    """The scopes asked for by a token request."""
    return parse_qs(form.decode())["scope"][0].split()


def test_a_batch_from_start_to_end_with_a_token(
    ticking_fake: FakeGlobus, served: dict[str, Any], tmp_path: Path
) -> None:
    flow_id = ticking_fake.add_flow(title="Quick", duration=2.0)
    invoke = env_invoker(served_env(served))
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text("".join(json.dumps({"body": {"n": n}}) + "\n" for n in range(8)))
    output = tmp_path / "results.jsonl"

    started = invoke("batch", "start", flow_id, str(inputs), "-o", str(output))
    assert started.exit_code == 0, started.output
    waited = invoke("batch", "wait", str(output), "--poll-interval", "0.1", "--format", "json")
    assert waited.exit_code == 0, waited.output
    assert [run["status"] for run in parse_json(waited)["runs"]] == ["SUCCEEDED"] * 8
    listed = parse_json(invoke("runs", "list", "--flow-id", flow_id, "--format", "json"))
    assert len(listed["runs"]) == 8
    tokens = {request.headers["authorization"] for request in ticking_fake.requests}
    assert tokens == {f"Bearer {served['token']}"}


def test_watch_follows_a_run_until_it_ends(
    ticking_fake: FakeGlobus, served: dict[str, Any]
) -> None:
    flow_id = ticking_fake.add_flow(duration=40.0, steps=2)  # about eight requests
    [run_id] = ticking_fake.add_runs(flow_id, 1, start=ticking_fake.clock.now())
    result = env_invoker(served_env(served))("runs", "watch", run_id, "--poll-interval", "0.05")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "status - -> ACTIVE"
    assert lines[-1] == "status ACTIVE -> SUCCEEDED"
    codes = [line.split()[2] for line in lines[1:-1]]
    assert codes == [
        "FlowStarted",
        "ActionStarted",
        "ActionCompleted",
        "ActionStarted",
        "ActionCompleted",
        "FlowSucceeded",
    ]


def test_client_credentials_get_a_token_for_flows_timers_and_each_flow(
    ticking_fake: FakeGlobus, served: dict[str, Any], tmp_path: Path
) -> None:
    flow_id = ticking_fake.add_flow(duration=1.0)
    client_id, secret = ticking_fake.add_client()
    invoke = env_invoker(
        served_env(
            served,
            GLOBUS_RUNS_TOKEN=None,
            GLOBUS_RUNS_CLIENT_ID=client_id,
            GLOBUS_RUNS_CLIENT_SECRET=secret,
        )
    )
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text('{"body": {}}\n{"body": {}}\n')
    result = invoke("batch", "start", flow_id, str(inputs), "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 0, result.output
    owners = {run.owner for run in ticking_fake.runs.values()}
    assert owners == {f"urn:globus:auth:identity:{client_id}"}
    [flow_grant] = ticking_fake.token_requests  # a start needs only the flow's own scope
    assert scope_of(flow_grant.body) == [
        f"https://auth.globus.org/scopes/{flow_id}/flow_{flow_id.replace('-', '_')}_user"
    ]

    listed = invoke("runs", "list", "--format", "json")
    assert len(parse_json(listed)["runs"]) == 2
    assert scope_of(ticking_fake.token_requests[-1].body) == [FLOWS_ALL, TIMERS]


def test_the_scopes_can_be_chosen(ticking_fake: FakeGlobus, served: dict[str, Any]) -> None:
    client_id, secret = ticking_fake.add_client()
    run_status = FLOWS_ALL.replace("/all", "/run_status")
    invoke = env_invoker(
        served_env(
            served,
            GLOBUS_RUNS_TOKEN=None,
            GLOBUS_RUNS_CLIENT_ID=client_id,
            GLOBUS_RUNS_CLIENT_SECRET=secret,
            GLOBUS_RUNS_SCOPES=run_status,
        )
    )
    assert invoke("runs", "list").exit_code == 0
    [token_request] = ticking_fake.token_requests
    assert scope_of(token_request.body) == [run_status]


def test_missing_credentials_are_a_one_line_error(served: dict[str, Any]) -> None:
    invoke = env_invoker(served_env(served, GLOBUS_RUNS_TOKEN=None))
    result = invoke("runs", "list")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: ConfigurationError: no credentials: set GLOBUS_RUNS_TOKEN, or "
        "GLOBUS_RUNS_CLIENT_ID and GLOBUS_RUNS_CLIENT_SECRET\n"
    )


def test_a_rejected_token_is_a_one_line_error(served: dict[str, Any]) -> None:
    result = env_invoker(served_env(served, GLOBUS_RUNS_TOKEN="wrong"))("timers", "list")
    assert result.exit_code == 1
    assert "401 AUTHENTICATION_ERROR" in result.stderr
    assert "wrong" not in result.stderr


def test_plain_http_to_a_remote_host_is_refused(served: dict[str, Any]) -> None:
    env = served_env(served, GLOBUS_RUNS_FLOWS_URL="http://flows.example.org/")
    result = env_invoker(env)("runs", "list")
    assert result.exit_code == 1
    assert "must use https" in result.stderr


# -- the command as a process, its output a pipe --------------------------------------


@pytest.fixture(scope="module")
def emulator() -> Iterator[dict[str, Any]]:
    """``python -m globus_runs.testing serve``, its clock 20 times faster than real time."""
    with serve_in_subprocess(speed=20.0) as info:
        yield info


def command(*args: str, env: Mapping[str, str | None]) -> subprocess.CompletedProcess[str]:
    """``python -m globus_runs.cli ARGS...`` with stdout and stderr captured (pipes)."""
    environ = dict(os.environ)
    for name, value in {**PLAIN_OUTPUT, **env}.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return subprocess.run(
        [sys.executable, "-m", "globus_runs.cli", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        check=False,
    )


def test_a_batch_through_pipes_against_the_served_emulator(
    emulator: dict[str, Any], tmp_path: Path
) -> None:
    succeeds, fails = emulator["flow_ids"][:2]
    env = served_env(emulator)
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text("".join(json.dumps({"body": {"n": n}}) + "\n" for n in range(20)))
    output = tmp_path / "results.jsonl"

    started = command("batch", "start", succeeds, str(inputs), "-o", str(output), env=env)
    assert started.returncode == 0, started.stderr
    assert "20/20" in started.stderr
    assert "20 started" in started.stderr
    assert "Traceback" not in started.stderr
    assert (
        started.stdout
        == f"Started 20 run(s), 0 failed, 0 skipped (already started); results in {output}.\n"
    )

    waited = command("batch", "wait", str(output), "--poll-interval", "0.1", env=env)
    assert waited.returncode == 0, waited.stderr
    assert "20 run(s): 20 SUCCEEDED" in waited.stdout

    failing = tmp_path / "failing.jsonl"
    command("batch", "start", fails, str(inputs), "-o", str(failing), "--no-progress", env=env)
    assert command("batch", "wait", str(failing), "--poll-interval", "0.1", env=env).returncode == 3


def test_errors_through_pipes_are_one_line(emulator: dict[str, Any]) -> None:
    env = served_env(emulator)
    done = command("runs", "show", "00000000-0000-4000-8000-000000000000", env=env)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("Error: GET http://127.0.0.1:")


def test_every_variable_the_command_reads_is_documented() -> None:
    result = env_invoker({"COLUMNS": "200"})("--help")
    assert result.exit_code == 0
    help_text = " ".join(result.stdout.split())
    assert [name for name in CONFIG_VARIABLES if name not in help_text] == []
