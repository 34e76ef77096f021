"""The command line against a port where nothing listens: it says so and exits 1.

Each retry is told on stderr as it happens; once the retries are spent, the wait ends with
one line naming the request that failed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from .conftest import CONFIG_VARIABLES, PLAIN_OUTPUT

RUN_ID = "00000000-0000-4000-8000-000000000000"


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
