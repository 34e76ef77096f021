"""The README's first command, ``globus-runs demo``, runs to completion with no setup."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import entry_points

from globus_runs.cli import main

from .conftest import PLAIN_OUTPUT, env_invoker

# What changes from one showing to the next: ids, clock readings, the batch's speed.
_VARYING = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<id>"),
    (re.compile(r"\d{4}-\d\d-\d\d"), "<date>"),
    (re.compile(r"\d?\d:\d\d:\d\d"), "<time>"),
    (re.compile(r"\(\d+(\.\d+)?/s\)"), "(<rate>)"),
]


def _story(out: str) -> str:
    for pattern, placeholder in _VARYING:
        out = pattern.sub(placeholder, out)
    return out


def test_the_demo_command_runs_to_completion_in_a_process_with_no_configuration() -> None:
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GLOBUS_RUNS_") and name not in PLAIN_OUTPUT
    }
    done = subprocess.run(
        [sys.executable, "-m", "globus_runs.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=environ,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "30/30 done, 28 started, 2 failed" in out  # the progress bar, drawn once: not a terminal
    assert "FlowNotFoundError (404 NOT_FOUND)" in out
    assert "was_canceled=True" in out
    assert "status ACTIVE -> SUCCEEDED" in out
    assert "24 SUCCEEDED" in out
    assert "FlowFailed" in out
    assert out.count("success ") >= 3  # the timer's runs
    assert "run_timer started run" in out
    assert out.rstrip().endswith("Demo complete. Next: globus-runs --help")
    assert "\x1b[" not in out
    assert done.stderr == ""
    # Written to a pipe, which has no width: every line still fits 80 columns.
    assert max(len(line) for line in out.splitlines()) <= 80


def test_the_demo_tells_the_same_story_every_time() -> None:
    stories = []
    for _ in range(4):
        result = env_invoker({"COLUMNS": "80"})("demo")
        assert result.exit_code == 0, result.output
        stories.append(_story(result.stdout))
    assert stories[1:] == stories[:-1]
    assert "was_canceled=True" in stories[0]
    assert "status ACTIVE -> SUCCEEDED" in stories[0]


def test_the_demo_fits_80_columns() -> None:
    result = env_invoker({"COLUMNS": "80"})("demo")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    # Tables keep their rows on one line each at that width.
    header = next(i for i, line in enumerate(lines) if line.startswith("RUN ID "))
    rows = lines[header + 2 : header + 7]
    assert all(re.match(r"[0-9a-f-]{36}   ACTIVE   scan \d+ +Move scan data$", r) for r in rows)


def test_the_demo_says_its_red_errors_are_meant_before_showing_them() -> None:
    result = env_invoker({"COLUMNS": "80"})("demo")
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    note = out.index("errors in red below are expected")
    assert note < out.index("FlowNotFoundError") < out.index("error ActionFailedException")


def test_the_demo_needs_no_credentials() -> None:
    result = env_invoker(dict.fromkeys(["GLOBUS_RUNS_TOKEN", "GLOBUS_RUNS_CLIENT_ID"]))("demo")
    assert result.exit_code == 0, result.output
    assert "Demo complete." in result.stdout


def test_the_demo_draws_in_colour_on_a_terminal() -> None:
    result = env_invoker({"FORCE_COLOR": "1", "COLUMNS": "120"})("demo")
    assert result.exit_code == 0, result.output
    assert "\x1b[" in result.stdout
    assert "Demo complete." in result.stdout


def test_the_console_script_is_the_command_lines_main() -> None:
    [script] = entry_points(group="console_scripts", name="globus-runs")
    assert script.load() is main
