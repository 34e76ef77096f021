"""The README's first command, ``globus-runs demo``, runs to completion with no setup."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from importlib.metadata import entry_points

import anyio
from rich.console import Console

from globus_runs.cli import main
from globus_runs.cli._demo import run_demo

from .conftest import PLAIN_OUTPUT, env_invoker


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


def test_the_demo_needs_no_credentials() -> None:
    result = env_invoker(dict.fromkeys(["GLOBUS_RUNS_TOKEN", "GLOBUS_RUNS_CLIENT_ID"]))("demo")
    assert result.exit_code == 0, result.output
    assert "Demo complete." in result.stdout


def test_the_demo_draws_in_colour_on_a_terminal() -> None:
    out = io.StringIO()
    anyio.run(run_demo, Console(file=out, force_terminal=True, width=120))
    assert "\x1b[" in out.getvalue()
    assert "Demo complete." in out.getvalue()


def test_the_console_script_is_the_command_lines_main() -> None:
    [script] = entry_points(group="console_scripts", name="globus-runs")
    assert script.load() is main
