"""A served emulator drops idle and slow connections: header and keep-alive timeouts.

Each test sets a short timeout and then waits, with a generous bound, for the server to
close the socket; what is asserted is that it closes it, never how fast.
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

from globus_runs.testing import FakeGlobus, serve_in_thread
from globus_runs.testing.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
WAIT = 60.0  # far beyond every timeout configured here


def closed_by_server(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes ``sock`` (waits at most `WAIT`)."""
    sock.settimeout(WAIT)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


@pytest.fixture
def served() -> Iterator[tuple[str, int]]:
    """A fake served with a 0.5 s header timeout and a 1 s keep-alive timeout."""
    with serve_in_thread(FakeGlobus(), header_timeout=0.5, keep_alive_timeout=1) as info:
        yield "127.0.0.1", int(info["port"])


def test_a_connection_that_never_finishes_its_headers_is_closed(
    served: tuple[str, int],
) -> None:
    with socket.create_connection(served) as sock:
        sock.sendall(b"GET /flows/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        assert closed_by_server(sock) == b""


def test_many_connections_that_never_finish_their_headers_are_all_closed(
    served: tuple[str, int],
) -> None:
    sockets = [socket.create_connection(served) for _ in range(50)]
    try:
        for sock in sockets:
            sock.sendall(b"GET /flows/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        assert [closed_by_server(sock) for sock in sockets] == [b""] * 50
    finally:
        for sock in sockets:
            sock.close()


def test_a_connection_that_sends_nothing_is_closed(served: tuple[str, int]) -> None:
    with socket.create_connection(served) as sock:
        assert closed_by_server(sock) == b""


def test_headers_sent_a_byte_at_a_time_do_not_keep_a_connection_open(
    served: tuple[str, int],
) -> None:
    head = b"GET /flows/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Pad: 1\r\n" * 10_000
    deadline = time.monotonic() + WAIT
    closed = False
    with socket.create_connection(served) as sock:
        sock.settimeout(0.05)  # each byte comes well within the header timeout
        for byte in head:
            if time.monotonic() > deadline:
                break
            try:
                sock.sendall(bytes([byte]))
                closed = sock.recv(1, socket.MSG_PEEK) == b""
            except TimeoutError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                closed = True
            if closed:
                break
    assert closed


def test_an_idle_connection_is_closed_after_a_response(served: tuple[str, int]) -> None:
    with socket.create_connection(served) as sock:
        sock.sendall(b"GET /flows/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = closed_by_server(sock)
    assert answer.startswith(b"HTTP/1.1 401 ")  # answered, then dropped once idle


def test_a_complete_request_is_answered_whatever_the_header_timeout(
    served: tuple[str, int],
) -> None:
    with socket.create_connection(served) as sock:
        sock.sendall(b"GET /flows/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert closed_by_server(sock).startswith(b"HTTP/1.1 401 ")


def test_serve_takes_the_timeouts_from_the_command_line() -> None:
    command = [sys.executable, "-m", "globus_runs.testing", "serve", "--port", "0"]
    command += ["--header-timeout", "0.5", "--keep-alive-timeout", "1"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    try:
        info = json.loads(process.stdout.readline())
        with socket.create_connection(("127.0.0.1", info["port"])) as sock:
            sock.sendall(b"GET /flows/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            assert closed_by_server(sock) == b""
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--header-timeout", "0", "header timeout must be positive"),
        ("--keep-alive-timeout", "0", "keep-alive timeout must be positive"),
        ("--max-body-size", "-1", "max_body_size must not be negative"),
        ("--max-recorded-requests", "0", "max_records must be at least 1"),
    ],
)
def test_bad_limits_are_usage_errors(
    option: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--port", "0", option, value])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
