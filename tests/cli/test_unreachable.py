"""The command line against a port where nothing listens: it says so and exits 1.

Each retry is told on stderr as it happens; once the retries are spent, the wait ends with
one line naming the request that failed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import CONFIG_VARIABLES, PLAIN_OUTPUT

RUN_ID = "00000000-0000-4000-8000-000000000000"
FLOW_ID = "00000000-0000-4000-8000-00000000f10f"
COMMAND = (sys.executable, "-m", "globus_runs.cli")


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port bound but not listening: every connection to it is refused."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield bound.getsockname()[1]


def test_runs_wait_against_a_refused_port_exits_1_with_a_clear_message(
    refused_port: int,
) -> None:
    environ = dict(os.environ)
    for name in (*PLAIN_OUTPUT, *CONFIG_VARIABLES):
        environ.pop(name, None)
    url = f"http://127.0.0.1:{refused_port}/"
    environ.update(GLOBUS_RUNS_TOKEN="a-token", GLOBUS_RUNS_FLOWS_URL=url)
    result = subprocess.run(
        [sys.executable, "-m", "globus_runs.cli", "runs", "wait", RUN_ID, "--poll-interval", "0.1"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    *retries, last = result.stderr.splitlines()
    assert last.startswith(f"Error: ConnectError: GET {url}runs/{RUN_ID}: could not connect")
    # Each retry was told as it happened, and every line names the request that failed.
    assert retries
    assert all(line.startswith(f"ConnectError: GET {url}runs/{RUN_ID}: ") for line in retries)
    assert "Traceback" not in result.stderr


def test_a_batch_against_a_refused_port_stops_after_the_first_items_retries(
    refused_port: int, tmp_path: Path
) -> None:
    environ = dict(os.environ)
    for name in (*PLAIN_OUTPUT, *CONFIG_VARIABLES):
        environ.pop(name, None)
    url = f"http://127.0.0.1:{refused_port}/"
    environ.update(GLOBUS_RUNS_TOKEN="a-token", GLOBUS_RUNS_FLOWS_URL=url)
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text("".join(json.dumps({"body": {"n": n}}) + "\n" for n in range(100)))
    output = tmp_path / "results.jsonl"
    began = time.monotonic()
    result = subprocess.run(
        [*COMMAND, "batch", "start", FLOW_ID, str(inputs), "-o", str(output), "--no-progress"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
        check=False,
    )
    elapsed = time.monotonic() - began
    assert result.returncode == 3, result.stderr
    # The default policy's five retries, told once for all the starts in flight.
    retries = result.stderr.splitlines()
    assert [line.split("; ")[-1].split(" in ")[0] for line in retries] == [
        f"retry {n} of 5" for n in range(1, 6)
    ]
    # One line per cause: the starts that met the refusals, the ones never sent.
    summary, refused, skipped = result.stdout.splitlines()
    assert summary.startswith("Started 0 run(s), 100 failed")
    count, kind, _ = refused.partition(" failed: ConnectError: ")
    assert kind
    assert 1 <= int(count) <= 10  # at most the default concurrency were sent
    assert skipped.startswith(
        f"{100 - int(count)} failed: not attempted after ConnectError: the service could not "
        "be reached (6 attempt(s)) (first: line "
    )
    records = [json.loads(line) for line in output.read_text().splitlines()]
    outcomes = [record for record in records if "intent" not in record]
    assert len(outcomes) == 100
    assert len([record for record in records if "intent" in record]) == int(count)
    # The first items' retries take 8 to 16 s; far from the 82 s of one item after another.
    assert elapsed < 60, elapsed
