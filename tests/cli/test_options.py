"""Options that mean the same everywhere: --format, --limit, the GLOBUS_RUNS_* variables,
runs update's options, timers list --status, and how a canceled run is shown."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from globus_runs.testing import FakeGlobus

from .conftest import Invoke, env_invoker, parse_json, served_env


def test_format_is_case_insensitive(fake: FakeGlobus, flow_id: str, invoke: Invoke) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    result = invoke("runs", "show", run_id, "--format", "JSON")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == fake.get_run_document(run_id)


def test_format_is_accepted_before_the_command(
    fake: FakeGlobus, flow_id: str, invoke: Invoke
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    result = invoke("--format", "Json", "runs", "show", run_id)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == fake.get_run_document(run_id)
    # The command's own --format wins.
    text = invoke("--format", "json", "runs", "show", run_id, "--format", "text")
    assert text.stdout.startswith("Run ID")


def test_an_invalid_format_variable_is_named(fake: FakeGlobus, flow_id: str) -> None:
    info = {"flows_url": fake.flows_url, "timers_url": fake.timers_url}
    info.update(auth_url=fake.auth_url, token=fake.token)
    result = env_invoker(served_env(info, GLOBUS_RUNS_FORMAT="xml"))("runs", "list")
    assert result.exit_code == 2
    assert "Error: GLOBUS_RUNS_FORMAT='xml' is not one of: text, json" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "why"),
    [
        ("GLOBUS_RUNS_FLOWS_URL", "https://flows.example.org:99999/", "Port out of range"),
        ("GLOBUS_RUNS_TIMERS_URL", "ftp://timers.example.org/", "is not an http(s) URL"),
        ("GLOBUS_RUNS_ENVIRONMENT", "Sandbox!", "not a Globus environment (one of production"),
    ],
)
def test_an_invalid_setting_names_its_variable(variable: str, value: str, why: str) -> None:
    env: dict[str, str | None] = {"GLOBUS_RUNS_TOKEN": "a-token", variable: value}
    if variable == "GLOBUS_RUNS_ENVIRONMENT":
        env.update(GLOBUS_RUNS_FLOWS_URL=None, GLOBUS_RUNS_TIMERS_URL=None)
    command = ("timers", "list") if variable == "GLOBUS_RUNS_TIMERS_URL" else ("runs", "list")
    result = env_invoker(env)(*command)
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"Error: ConfigurationError: {variable}={value!r} is invalid: ")
    assert why in line


def test_an_invalid_auth_url_is_named() -> None:
    env: dict[str, str | None] = {
        "GLOBUS_RUNS_TOKEN": None,
        "GLOBUS_RUNS_CLIENT_ID": "a-client",
        "GLOBUS_RUNS_CLIENT_SECRET": "a-secret",
        "GLOBUS_RUNS_AUTH_URL": "ftp://auth.example.org/",
    }
    result = env_invoker(env)("runs", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: ConfigurationError: GLOBUS_RUNS_AUTH_URL='ftp://auth.example.org/' is invalid: "
    )


def test_update_with_nothing_to_do_lists_every_option(
    fake: FakeGlobus, flow_id: str, invoke: Invoke
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    result = invoke("runs", "update", run_id)
    assert result.exit_code == 2
    assert (
        "nothing to change: give --label, --tag, --monitor, --manager, --clear-tags, "
        "--clear-monitors or --clear-managers" in result.stderr
    )
    assert fake.requests == []


def test_list_says_when_more_runs_exist_than_the_limit(
    fake: FakeGlobus, flow_id: str, invoke: Invoke
) -> None:
    fake.add_runs(flow_id, 4)
    three = invoke("runs", "list", "--limit", "3")
    assert three.stdout.splitlines()[-1] == (
        "3 run(s) shown; more exist (raise --limit, or --limit 0 for all)"
    )
    assert parse_json(invoke("runs", "list", "--limit", "3", "--format", "json"))["more"] is True
    four = invoke("runs", "list", "--limit", "4")
    assert four.stdout.splitlines()[-1] == "4 run(s)"
    assert parse_json(invoke("runs", "list", "--limit", "0", "--format", "json"))["more"] is False


@pytest.mark.parametrize(
    "command",
    [("runs", "list"), ("runs", "logs", "RUN"), ("timers", "runs", "TIMER")],
)
def test_limit_means_at_most_n_and_0_for_all_everywhere(
    command: tuple[str, ...], invoke: Invoke
) -> None:
    result = invoke(*command[:2], "--help")
    text = " ".join(result.stdout.split())
    assert "--limit INTEGER RANGE Show at most this many" in text
    assert "(0: all of them)" in text
    assert invoke(*command, "--limit", "-1").exit_code == 2


def test_logs_say_when_more_entries_exist(fake: FakeGlobus, flow_id: str, invoke: Invoke) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    fake.clock.advance(60)
    result = invoke("runs", "logs", run_id, "--limit", "1")
    assert result.stdout.splitlines()[-1] == (
        "1 log entries shown; more exist (raise --limit, or --limit 0 for all)"
    )


@pytest.fixture
def new_and_loaded(fake: FakeGlobus, flow_id: str) -> dict[str, str]:
    """A timer that has fired ("loaded") and one that has not yet ("new")."""
    loaded = fake.add_timer(flow_id, {}, schedule={"type": "recurring", "interval_seconds": 60})
    fake.clock.advance(5)
    later = (fake.clock.now() + timedelta(hours=1)).isoformat()
    new = fake.add_timer(
        flow_id, {}, schedule={"type": "recurring", "interval_seconds": 60, "start": later}
    )
    return {"loaded": loaded, "new": new}


@pytest.mark.parametrize("shown", ["new", "LOADED"])
def test_timers_list_accepts_the_statuses_the_table_shows(
    fake: FakeGlobus, new_and_loaded: dict[str, str], invoke: Invoke, shown: str
) -> None:
    result = invoke("timers", "list", "--status", shown, "--format", "json")
    assert result.exit_code == 0, result.output
    timers: list[dict[str, Any]] = parse_json(result)["timers"]
    assert [(t["job_id"], t["status"]) for t in timers] == [
        (new_and_loaded[shown.lower()], shown.lower())
    ]
    assert fake.requests[-1].params == {"filter_status": "active"}
    table = invoke("timers", "list", "--status", shown)
    assert new_and_loaded[shown.lower()] in table.stdout
    assert new_and_loaded["loaded" if shown == "new" else "new"] not in table.stdout


def test_timers_list_active_keeps_its_meaning(
    fake: FakeGlobus, new_and_loaded: dict[str, str], invoke: Invoke
) -> None:
    result = parse_json(invoke("timers", "list", "--status", "active", "--format", "json"))
    assert {t["job_id"] for t in result["timers"]} == set(new_and_loaded.values())


def test_a_canceled_run_shows_as_failed_canceled_everywhere(
    fake: FakeGlobus, flow_id: str, invoke: Invoke
) -> None:
    [run_id, other] = fake.add_runs(flow_id, 2)
    invoke("runs", "cancel", run_id)
    fake.clock.advance(60)
    assert parse_json(invoke("runs", "show", run_id, "--format", "json"))["status"] == "FAILED"
    shown = invoke("runs", "show", run_id).stdout
    assert "FAILED (canceled)" in shown
    assert "FAILED (canceled)" in invoke("runs", "list").stdout
    waited = invoke("runs", "wait", run_id, other)
    assert "2 run(s): 1 FAILED (canceled), 1 SUCCEEDED" in waited.stdout
    assert "FAILED (canceled)" in waited.stdout.split("2 run(s)")[0]  # the table too
    deleted = invoke("runs", "delete", run_id)
    assert deleted.stdout == f"Deleted run {run_id} (FAILED (canceled)).\n"
