"""The emulator served on loopback and driven by globus-cli's ``globus flows`` and
``globus timer`` commands, run as subprocesses.

Each test signs in as a confidential client of its own (``GLOBUS_CLI_CLIENT_ID`` and
``GLOBUS_CLI_CLIENT_SECRET``), whose identity owns the test's flows, in a home folder of its
own (globus-cli keeps its tokens there), with the services' URLs in globus-sdk's
``GLOBUS_SDK_SERVICE_URL_*`` variables. The emulator's clock is manual: a command sees the
state the test left, and the test moves time between commands. Each test asserts on what
the command prints (its text, or its JSON with ``-F json``), not only on its exit status.

globus-cli is not a test dependency (see ``_globus_cli``): without it these tests skip,
or fail when the environment says they must run.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from globus_runs.testing import FakeGlobus

from ._globus_cli import globus_executable, isolated_environment
from .conftest import sent

# Generous: a loaded machine; each command is one or two requests to a local server.
BOUND = 120

# How globus-cli prints a datetime in text mode (local time; the tests run it in UTC).
TEXT_TIME = "%Y-%m-%d %H:%M:%S"


class Globus:
    """The ``globus`` command, signed in as one confidential client of the emulator."""

    def __init__(self, executable: Path, env: dict[str, str], identity_id: str) -> None:
        self.executable = executable
        self.env = env
        self.identity_id = identity_id
        self.urn = f"urn:globus:auth:identity:{identity_id}"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``globus ARGS``; its exit status, output and errors."""
        return subprocess.run(
            [str(self.executable), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=BOUND,
            check=False,
        )

    def text(self, *args: str) -> str:
        """What ``globus ARGS`` prints, which must succeed."""
        done = self.run(*args)
        assert done.returncode == 0, f"globus {' '.join(args)}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def json(self, *args: str) -> Any:
        """The JSON ``globus ARGS -F json`` prints."""
        return json.loads(self.text(*args, "-F", "json"))

    def record(self, *args: str) -> dict[str, str]:
        """The ``Name: value`` lines of a record ``globus ARGS`` prints."""
        fields: dict[str, str] = {}
        for line in self.text(*args).splitlines():
            name, colon, value = line.partition(":")
            if colon and name.strip() and not line.startswith(" "):
                fields.setdefault(name.strip(), value.strip())
        return fields


GlobusFactory = Callable[[], Globus]


@pytest.fixture
def sign_in(fake: FakeGlobus, info: dict[str, Any], tmp_path: Path) -> Callable[[], Globus]:
    """A ``Globus`` for a new confidential client (and so a new identity) each call."""
    executable = globus_executable()

    def new() -> Globus:
        client_id, secret = fake.add_client(str(uuid.uuid4()))
        home = tmp_path / client_id
        home.mkdir()
        env = isolated_environment(home)
        env.update(
            GLOBUS_SDK_SERVICE_URL_FLOWS=info["flows_url"],
            GLOBUS_SDK_SERVICE_URL_TIMER=info["timers_url"],
            GLOBUS_SDK_SERVICE_URL_AUTH=info["auth_url"],
            GLOBUS_CLI_CLIENT_ID=client_id,
            GLOBUS_CLI_CLIENT_SECRET=secret,
            TZ="UTC",
        )
        return Globus(executable, env, client_id)

    return new


@pytest.fixture
def globus(sign_in: Callable[[], Globus]) -> Globus:
    """The ``globus`` command as this test's owner of flows and runs."""
    return sign_in()


def text_time(moment: datetime) -> str:
    return moment.strftime(TEXT_TIME)


# -- globus flows run ------------------------------------------------------------------------


def test_run_list_shows_the_callers_runs_newest_first(fake: FakeGlobus, globus: Globus) -> None:
    flow_id = fake.add_flow(title="Scan", duration=10, owner=globus.identity_id)
    older, newer = fake.add_runs(flow_id, 2, owner=globus.identity_id, label="scan {i}")
    listed = globus.json("flows", "run", "list")["runs"]
    assert [(run["run_id"], run["label"]) for run in listed] == [
        (newer, "scan 1"),
        (older, "scan 0"),
    ]
    table = globus.text("flows", "run", "list", "--filter-flow-id", flow_id)
    rows = [line.split("|") for line in table.splitlines()[2:]]
    assert [[cell.strip() for cell in row] for row in rows] == [
        [newer, "Scan", "scan 1", "ACTIVE"],
        [older, "Scan", "scan 0", "ACTIVE"],
    ]


def test_run_list_pages_through_markers_up_to_its_limit(fake: FakeGlobus, globus: Globus) -> None:
    flow_id = fake.add_flow(title="Campaign", duration=10, owner=globus.identity_id)
    run_ids = fake.add_runs(flow_id, 45, owner=globus.identity_id)
    fake.clear_requests()
    listed = globus.json("flows", "run", "list", "--limit", "45")["runs"]
    assert [run["run_id"] for run in listed] == run_ids[::-1]
    pages = [r for r in sent(fake, "flows") if (r.method, r.path) == ("GET", "/runs")]
    assert len(pages) == 3  # 20 runs a page by default
    assert [any(name == "marker" for name, _ in r.query) for r in pages] == [False, True, True]
    assert len(globus.json("flows", "run", "list", "--limit", "30")["runs"]) == 30


def test_run_show_follows_a_run_to_its_end(fake: FakeGlobus, globus: Globus) -> None:
    flow_id = fake.add_flow(title="Scan", duration=10, owner=globus.identity_id)
    began = fake.clock.now()
    [run_id] = fake.add_runs(flow_id, 1, owner=globus.identity_id, label="first", start=began)
    running = globus.record("flows", "run", "show", run_id)
    fake.clock.advance(30)
    ended = globus.record("flows", "run", "show", run_id)
    assert (running["Status"], running["Completed At"], running["Run Label"]) == (
        "ACTIVE",
        "None",
        "first",
    )
    assert running["Started At"] == text_time(began)
    assert (ended["Status"], ended["Completed At"]) == (
        "SUCCEEDED",
        text_time(began + timedelta(seconds=10)),
    )
    # The owner is named as Globus Auth names a client's identity.
    assert ended["Run Owner"] == f"{globus.identity_id}@clients.auth.globus.org"
    described = globus.json("flows", "run", "show", run_id, "--include-flow-description")
    assert described["flow_description"]["title"] == "Scan"


def test_start_and_run_update_normalize_tags(fake: FakeGlobus, globus: Globus) -> None:
    flow_id = fake.add_flow(title="Scan", owner=globus.identity_id)
    started = globus.json(
        "flows", "start", flow_id, "--label", "tagged", "--tag", "  beam   line\t7 ", "--tag", "x"
    )
    assert started["tags"] == ["beam line 7", "x"]
    updated = globus.record(
        "flows", "run", "update", started["run_id"], "--tags", " night  shift ,y"
    )
    assert updated["Run Tags"] == "night shift, y"
    assert globus.json("flows", "run", "show", started["run_id"])["tags"] == ["night shift", "y"]


def test_run_cancel_then_the_log_says_canceled(fake: FakeGlobus, globus: Globus) -> None:
    flow_id = fake.add_flow(title="Long", duration=600, owner=globus.identity_id)
    [run_id] = fake.add_runs(flow_id, 1, owner=globus.identity_id)
    fake.clock.advance(5)
    globus.text("flows", "run", "cancel", run_id)
    fake.clock.advance(5)
    shown = globus.json("flows", "run", "show", run_id)
    assert (shown["status"], shown["details"]["code"]) == ("FAILED", "FlowCanceled")
    codes = [entry["code"] for entry in globus.json("flows", "run", "show-logs", run_id)["entries"]]
    assert codes[0] == "FlowStarted"
    assert codes[-1] == "FlowCanceled"
    reversed_codes = globus.json("flows", "run", "show-logs", run_id, "--reverse")["entries"]
    assert [entry["code"] for entry in reversed_codes] == codes[::-1]


def test_run_show_logs_pages_past_a_limit(fake: FakeGlobus, globus: Globus) -> None:
    flow_id = fake.add_flow(title="Many steps", duration=60, steps=8, owner=globus.identity_id)
    [run_id] = fake.add_runs(flow_id, 1, owner=globus.identity_id)
    fake.clock.advance(120)
    every = globus.json("flows", "run", "show-logs", run_id)["entries"]
    first = globus.json("flows", "run", "show-logs", run_id, "--limit", "3")["entries"]
    assert (every[0]["code"], every[-1]["code"]) == ("FlowStarted", "FlowSucceeded")
    assert len(every) > 10  # more than one page of the service's default size
    assert first == every[:3]
    table = globus.text("flows", "run", "show-logs", run_id, "--limit", "3").splitlines()
    assert [row.split("|")[1].strip() for row in table[2:]] == [e["code"] for e in every[:3]]


def test_run_show_definition_and_delete(fake: FakeGlobus, globus: Globus) -> None:
    flow_id = fake.add_flow(title="Scan", duration=10, owner=globus.identity_id)
    [run_id] = fake.add_runs(flow_id, 1, owner=globus.identity_id)
    definition = json.loads(globus.text("flows", "run", "show-definition", run_id))
    assert definition["flow_id"] == flow_id
    assert set(definition) == {"flow_id", "definition", "input_schema"}
    refused = globus.run("flows", "run", "delete", run_id)
    assert refused.returncode != 0
    assert "STATE_CONFLICT" in refused.stdout + refused.stderr
    fake.clock.advance(30)
    assert globus.record("flows", "run", "delete", run_id)["Status"] == "SUCCEEDED"
    gone = globus.run("flows", "run", "show", run_id)
    assert gone.returncode != 0
    assert "404" in gone.stdout + gone.stderr


def test_run_resume_checks_consent_then_resumes(fake: FakeGlobus, globus: Globus) -> None:
    flow_id = fake.add_flow(
        title="Needs consent", duration=5, consent_required=True, owner=globus.identity_id
    )
    [run_id] = fake.add_runs(flow_id, 1, owner=globus.identity_id)
    fake.clock.advance(1)
    assert globus.record("flows", "run", "show", run_id)["Status"] == "INACTIVE"
    refused = globus.run("flows", "run", "resume", run_id)
    assert refused.returncode != 0
    assert "missing a necessary consent" in refused.stdout + refused.stderr
    assert f"scopes/{flow_id}/" in refused.stdout + refused.stderr
    fake.grant_consent(flow_id, identity_id=globus.identity_id)
    assert globus.record("flows", "run", "resume", run_id)["Status"] == "ACTIVE"
    fake.clock.advance(30)
    assert globus.record("flows", "run", "show", run_id)["Status"] == "SUCCEEDED"


def test_a_monitor_sees_no_managers_or_monitors(
    fake: FakeGlobus, globus: Globus, sign_in: GlobusFactory
) -> None:
    watcher = sign_in()
    flow_id = fake.add_flow(title="Watched", owner=globus.identity_id)
    started = globus.json(
        "flows", "start", flow_id, "--monitor", watcher.urn, "--manager", globus.urn
    )
    mine = globus.json("flows", "run", "show", started["run_id"])
    seen = watcher.json("flows", "run", "show", started["run_id"])
    assert (mine["run_monitors"], mine["run_managers"]) == ([watcher.urn], [globus.urn])
    assert (seen["user_role"], seen["run_monitors"], seen["run_managers"]) == (
        "run_monitor",
        [],
        [],
    )
    as_monitor = watcher.json("flows", "run", "list", "--filter-role", "run_monitor")["runs"]
    assert [run["run_id"] for run in as_monitor] == [started["run_id"]]
    assert watcher.json("flows", "run", "list", "--filter-role", "run_owner")["runs"] == []


def test_only_the_flow_owner_sees_its_viewers_and_starters(
    fake: FakeGlobus, globus: Globus, sign_in: GlobusFactory
) -> None:
    stranger = sign_in()
    flow_id = fake.add_flow(title="Shared", owner=globus.identity_id)
    owned = globus.record("flows", "show", flow_id)
    foreign = stranger.record("flows", "show", flow_id)
    assert (owned["Viewers"], owned["Starters"]) == ("public", "all_authenticated_users")
    assert (foreign["Viewers"], foreign["Starters"]) == ("", "")


def test_web_input_list_show_and_respond(fake: FakeGlobus, globus: Globus) -> None:
    flow_id = fake.add_flow(
        title="Asking", duration=4, web_input={"title": "Ship it?"}, owner=globus.identity_id
    )
    answered, waiting = fake.add_runs(flow_id, 2, owner=globus.identity_id)
    fake.clock.advance(1)
    listed = globus.json("flows", "web-input", "list")["web_input_summaries"]
    assert {item["run"]["id"] for item in listed} == {answered, waiting}
    input_id = fake.web_input_of(answered)
    assert input_id is not None
    shown = globus.record("flows", "web-input", "show", input_id)
    assert (shown["Status"], shown["Title"]) == ("open", "Ship it?")
    option = fake.flows[flow_id].web_input.options[0].option_id
    # Globus answers a response with {"status": "ok"}; the input is then closed.
    assert globus.record("flows", "web-input", "respond", input_id, option)["Status"] == "ok"
    assert globus.record("flows", "web-input", "show", input_id)["Status"] == "closed"
    still_open = globus.json("flows", "web-input", "list")["web_input_summaries"]
    assert [item["run"]["id"] for item in still_open] == [waiting]
    closed = globus.json("flows", "web-input", "list", "--filter-state", "closed")
    assert [item["id"] for item in closed["web_input_summaries"]] == [input_id]


# -- globus timer ----------------------------------------------------------------------------


def activity(globus: Globus, timer_id: str) -> str:
    """The ``Activity`` line ``globus timer show`` prints."""
    return globus.record("timer", "show", timer_id)["Activity"]


def test_timer_show_prints_each_activity(fake: FakeGlobus, globus: Globus) -> None:
    flow_id = fake.add_flow(title="Hourly", duration=10, owner=globus.identity_id)
    began = fake.clock.now()
    created = globus.record(
        "timer", "create", "flow", flow_id, "--interval", "1h", "--name", "hourly"
    )
    timer_id = created["Timer ID"]
    assert (created["Name"], created["Type"], created["Status"]) == ("hourly", "flow", "new")
    assert created["Schedule"] == f"every 3600 seconds, starting {text_time(began)}"
    assert created["Next Run"] == text_time(began)
    fake.clock.advance(4)  # the first run (10 s long) is under way
    running = activity(globus, timer_id)
    fake.clock.advance(20)
    waiting = activity(globus, timer_id)
    assert globus.text("timer", "pause", timer_id).strip() == (
        f"Successfully paused job {timer_id}."
    )
    paused = globus.record("timer", "show", timer_id)
    assert running == f"Awaiting completion of the latest run, started at {text_time(began)}"
    next_run = text_time(began + timedelta(hours=1))
    assert waiting == f"Awaiting the next run, scheduled to occur at {next_run}"
    assert (paused["Status"], paused["Activity"]) == ("inactive", "Paused, awaiting user action")
    assert globus.text("timer", "resume", timer_id).strip() == (
        f"Successfully resumed job {timer_id}."
    )
    assert activity(globus, timer_id) == waiting


def test_timer_show_prints_a_retrying_timer(fake: FakeGlobus, globus: Globus) -> None:
    flow_id = fake.add_flow(title="Hourly", duration=10, owner=globus.identity_id)
    began = fake.clock.now()
    fake.fail_timer_submissions(1)  # the first attempt to start the flow fails
    created = globus.record("timer", "create", "flow", flow_id, "--interval", "1h")
    fake.clock.advance(5)
    retrying = activity(globus, created["Timer ID"])
    fake.clock.advance(30)  # the retry, 30 s after the first attempt, starts the run
    running = activity(globus, created["Timer ID"])
    assert retrying == f"Retrying current run, started at {text_time(began)}"
    retried = text_time(began + timedelta(seconds=30))
    assert running == f"Awaiting completion of the latest run, started at {retried}"


def test_timer_list_prints_the_callers_timers_oldest_first(
    fake: FakeGlobus, globus: Globus
) -> None:
    flow_id = fake.add_flow(title="Hourly", duration=10, owner=globus.identity_id)
    every_hour = {"type": "recurring", "interval_seconds": 3600}
    first = fake.add_timer(flow_id, schedule=every_hour, name="a", owner=globus.identity_id)
    fake.clock.advance(1)
    second = fake.add_timer(flow_id, schedule=every_hour, name="b", owner=globus.identity_id)
    listed = globus.json("timer", "list")
    assert [(job["job_id"], job["name"]) for job in listed] == [(first, "a"), (second, "b")]
    text = globus.text("timer", "list")
    records = [block for block in text.split("\n\n") if block.strip()]
    assert [block.splitlines()[0].split()[-1] for block in records] == [first, second]
    assert all("Activity:" in block and "<Unrecognized" not in block for block in records)
    assert "Awaiting completion of the latest run, started at" in records[1]


def test_timer_delete_reads_as_delete_in_progress_then_deleted(
    fake: FakeGlobus, globus: Globus
) -> None:
    flow_id = fake.add_flow(title="Hourly", duration=10, owner=globus.identity_id)
    every_hour = {"type": "recurring", "interval_seconds": 3600}
    timer_id = fake.add_timer(flow_id, schedule=every_hour, owner=globus.identity_id)
    fake.clock.advance(30)
    deleted = globus.record("timer", "delete", timer_id)
    shown = globus.record("timer", "show", timer_id)
    fake.clock.advance(60)
    later = globus.record("timer", "show", timer_id)
    assert (deleted["Timer ID"], deleted["Status"]) == (timer_id, "delete_in_progress")
    assert (shown["Status"], shown["Activity"], shown["Next Run"]) == (
        "delete_in_progress",
        "This timer is no longer active",
        "None",
    )
    assert (later["Status"], later["Activity"]) == ("deleted", "This timer is no longer active")
    assert timer_id not in [job["job_id"] for job in globus.json("timer", "list")]
