"""A batch stopped by SIGINT, SIGTERM or SIGKILL and run again starts every line exactly once.

The command line runs in a child process against the emulator served on loopback. The
interruption comes at a chosen point, found by waiting on the emulator, never by sleeping:
either while starts the service has already made are held unanswered (their runs exist, the
child has recorded only their intents), or once the results file holds a number of outcomes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest

from globus_runs.testing import FakeClock, FakeGlobus

from ..cli.conftest import PLAIN_OUTPUT, env_invoker, served_env

ROOT = Path(__file__).resolve().parents[2]
CONCURRENCY = 16
# Generous bounds for a loaded machine: only reached when something is wrong.
PATIENCE = 120.0

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class Gate:
    """Holds the answers to run starts, once ``hold_after`` of them were answered.

    A held start has been made by the service (its run exists) but its answer is not sent
    until ``release()``: what a process killed mid-request leaves behind.
    """

    def __init__(self) -> None:
        self.hold_after: int | None = None
        self.answered = 0
        self.held = 0
        self._released = threading.Event()

    def release(self) -> None:
        self._released.set()

    def wrap(self, app: App) -> App:
        async def gated(scope: Scope, receive: Receive, send: Send) -> None:
            is_start = (
                scope["type"] == "http"
                and scope["method"] == "POST"
                and scope["path"].endswith("/run")
            )
            if not is_start:
                await app(scope, receive, send)
                return

            async def answer(message: Message) -> None:
                if message["type"] == "http.response.start":
                    if self.hold_after is not None and self.answered >= self.hold_after:
                        self.held += 1
                        await asyncio.to_thread(self._released.wait)
                    else:
                        self.answered += 1
                await send(message)

            with contextlib.suppress(OSError):  # the client is gone
                await app(scope, receive, answer)

        return gated


@pytest.fixture
def emulator() -> Iterator[tuple[FakeGlobus, Gate, dict[str, Any]]]:
    """An emulator served on loopback through a `Gate`; yields it, the gate, its URLs."""
    import uvicorn

    fake = FakeGlobus(clock=FakeClock(realtime=True))
    gate = Gate()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    fake.origin = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        gate.wrap(fake.app),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield fake, gate, {**fake.urls(), "token": fake.token}
    finally:
        gate.release()
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


def outcomes(path: Path) -> int:
    """How many outcomes (records that are not intents) the results file holds so far."""
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text().splitlines() if '"intent"' not in line)


def spawn(info: dict[str, Any], *args: str, background: bool = False) -> subprocess.Popen[str]:
    """The command line in a child process; ``background``: with SIGINT ignored, as in a job
    started in the background by a shell."""
    env = {**os.environ, **{k: v for k, v in served_env(info).items() if v is not None}}
    for name in PLAIN_OUTPUT:
        env.pop(name, None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "globus_runs.cli", *args, "--no-progress"]
    return subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ignore_sigint if background else None,
    )


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop(process: subprocess.Popen[str], signum: signal.Signals) -> tuple[int, str]:
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=PATIENCE)
    return process.returncode, stderr


EXIT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGKILL: -signal.SIGKILL}


def interrupt(
    process: subprocess.Popen[str],
    gate: Gate,
    output: Path,
    signum: signal.Signals,
    *,
    held_after: int | None,
    outcomes_seen: int | None,
) -> None:
    """Stop ``process`` with ``signum`` at the point chosen, and check how it ended."""
    if held_after is not None:
        wait_until(lambda: gate.held >= CONCURRENCY, f"{CONCURRENCY} starts held")
    else:
        assert outcomes_seen is not None
        wait_until(lambda: outcomes(output) >= outcomes_seen, f"{outcomes_seen} outcomes")
    status, stderr = stop(process, signum)
    gate.release()
    assert status == EXIT_STATUS[signum], stderr
    if signum != signal.SIGKILL:
        assert "not started" in stderr.splitlines()[-1] or "not rerun" in stderr.splitlines()[-1]


def write_inputs(path: Path, n: int) -> Path:
    path.write_text("".join(json.dumps({"body": {"n": i}}) + "\n" for i in range(1, n + 1)))
    return path


# One 3,000-line batch per signal, interrupted while 16 starts are made but unanswered;
# smaller batches for the other points (first starts, last starts, between answers).
CASES = [
    pytest.param(signal.SIGINT, 3000, 1500, None, id="sigint-3000-held-mid"),
    pytest.param(signal.SIGTERM, 3000, 1500, None, id="sigterm-3000-held-mid"),
    pytest.param(signal.SIGKILL, 3000, 1500, None, id="sigkill-3000-held-mid"),
    pytest.param(signal.SIGKILL, 200, 0, None, id="sigkill-200-held-first"),
    pytest.param(signal.SIGINT, 200, 200 - CONCURRENCY, None, id="sigint-200-held-last"),
    pytest.param(signal.SIGKILL, 300, None, 100, id="sigkill-300-after-100"),
    pytest.param(signal.SIGTERM, 300, None, 250, id="sigterm-300-after-250"),
    pytest.param(signal.SIGTERM, 300, None, 150, id="sigterm-300-after-150-background"),
]


@pytest.mark.parametrize(("signum", "lines", "held_after", "outcomes_seen"), CASES)
def test_an_interrupted_batch_start_starts_every_line_once(
    request: pytest.FixtureRequest,
    emulator: tuple[FakeGlobus, Gate, dict[str, Any]],
    tmp_path: Path,
    signum: signal.Signals,
    lines: int,
    held_after: int | None,
    outcomes_seen: int | None,
) -> None:
    fake, gate, info = emulator
    flow_id = fake.add_flow(duration=1e6)
    inputs = write_inputs(tmp_path / "inputs.jsonl", lines)
    output = tmp_path / "results.jsonl"
    args = ("batch", "start", flow_id, str(inputs), "-o", str(output))
    gate.hold_after = held_after

    background = request.node.callspec.id.endswith("background")
    process = spawn(info, *args, "--concurrency", str(CONCURRENCY), background=background)
    interrupt(process, gate, output, signum, held_after=held_after, outcomes_seen=outcomes_seen)
    made = len(fake.runs)
    assert 0 < made <= lines

    resumed = env_invoker(served_env(info))(*args, "--concurrency", str(CONCURRENCY))

    assert resumed.exit_code == 0, resumed.output
    per_line = Counter(run.body["n"] for run in fake.runs.values())
    assert per_line == Counter(range(1, lines + 1))  # every line, each once
    if held_after is not None:
        # The held starts were made, never answered: found by their tags, not started again.
        assert f"{CONCURRENCY} of them had been started before" in resumed.stdout


@pytest.mark.parametrize(
    ("signum", "held_after"),
    [
        pytest.param(signal.SIGKILL, 40, id="sigkill-held"),
        pytest.param(signal.SIGINT, 0, id="sigint-held-first"),
        pytest.param(signal.SIGTERM, 100, id="sigterm-held"),
    ],
)
def test_an_interrupted_batch_rerun_reruns_every_run_once(
    emulator: tuple[FakeGlobus, Gate, dict[str, Any]],
    tmp_path: Path,
    signum: signal.Signals,
    held_after: int,
) -> None:
    fake, gate, info = emulator
    flow_id = fake.add_flow(duration=1e6)
    failed = fake.add_runs(flow_id, 300, duration=0.0, outcome="FAILED", body={"n": 0})
    output = tmp_path / "reruns.jsonl"
    args = ("batch", "rerun", "--flow-id", flow_id, "-o", str(output))
    gate.hold_after = held_after

    process = spawn(info, *args, "--concurrency", str(CONCURRENCY))
    interrupt(process, gate, output, signum, held_after=held_after, outcomes_seen=None)

    resumed = env_invoker(served_env(info))(*args, "--concurrency", str(CONCURRENCY))

    assert resumed.exit_code == 0, resumed.output
    reruns = Counter(
        tag for run in fake.runs.values() for tag in run.tags if tag.startswith("rerun-of:")
    )
    assert reruns == Counter(f"rerun-of:{run_id}" for run_id in failed)
