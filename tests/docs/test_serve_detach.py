"""``serve --detach``, ``serve --ready-file`` and ``stop``: ways to start the served emulator
that a script cannot race, and to stop it again."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx

COMMAND = [sys.executable, "-m", "globus_runs.testing"]
CLIENT = "8f8a1e4c-4c5c-4d1e-9d5c-2a7e1d2b3c4d:s3cret"
# Generous: the machine may be loaded; nothing here asserts how fast anything is.
BOUND = 120


def run(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command, its output captured: it must return even though a server goes on."""
    return subprocess.run(
        [*COMMAND, *arguments], capture_output=True, text=True, cwd=cwd, timeout=BOUND, check=False
    )


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            return True
    except OSError:
        return False


@contextmanager
def cleanup(pids: list[int]) -> Iterator[None]:
    """Whatever a test fails on, end the servers it started."""
    try:
        yield
    finally:
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


def test_detach_returns_once_listening_and_stop_ends_the_server(tmp_path: Path) -> None:
    pids: list[int] = []
    with cleanup(pids):
        started = run("serve", "--detach", "--client", CLIENT, cwd=tmp_path)
        assert started.returncode == 0, started.stderr
        assert started.stderr == ""
        [line] = started.stdout.splitlines()
        info: dict[str, Any] = json.loads(line)
        pids.append(info["pid"])
        # Listening already: no wait, no retry.
        response = httpx.get(
            info["flows_url"] + "runs", headers={"Authorization": f"Bearer {info['token']}"}
        )
        assert response.status_code == 200
        assert info["client_ids"] == [CLIENT.split(":")[0]]

        (tmp_path / "emulator.json").write_text(started.stdout)
        stopped = run("stop", "emulator.json", cwd=tmp_path)
        assert stopped.returncode == 0, stopped.stderr
        assert (
            stopped.stdout == f"stopped the emulator on port {info['port']} (pid {info['pid']})\n"
        )
        assert not listening(info["port"])

        again = run("stop", "emulator.json", cwd=tmp_path)
        assert again.returncode == 1
        assert "no emulator listens on port" in again.stderr


def test_detach_reports_a_server_that_cannot_start_and_prints_nothing(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run("serve", "--detach", "--port", str(port), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


def test_detach_refuses_bad_arguments_before_starting_anything(tmp_path: Path) -> None:
    done = run("serve", "--detach", "--client", "not-a-uuid:secret", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "usage: python -m globus_runs.testing serve" in done.stderr
    assert "must be a UUID" in done.stderr


def test_stop_refuses_a_file_that_is_not_a_startup_line(tmp_path: Path) -> None:
    (tmp_path / "emulator.json").write_text("")
    done = run("stop", "emulator.json", cwd=tmp_path)
    assert done.returncode == 1
    assert "is not the JSON line of `serve --detach`" in done.stderr


def test_the_ready_file_appears_whole_once_the_server_listens(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    process = subprocess.Popen(
        [*COMMAND, "serve", "--ready-file", str(ready)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    assert process.stdout is not None
    try:
        printed = json.loads(process.stdout.readline())
        deadline = time.monotonic() + BOUND
        while not ready.exists():  # written just after the line above
            assert process.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.01)
        written = json.loads(ready.read_text())
        assert written == {**printed, "pid": process.pid}
        assert listening(written["port"])
        assert [path.name for path in tmp_path.iterdir()] == ["ready.json"]  # no temporary left
    finally:
        process.terminate()
        process.communicate(timeout=BOUND)
