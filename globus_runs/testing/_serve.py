"""Serving the emulator over real sockets, on loopback only.

`serve` is what ``python -m globus_runs.testing serve`` runs (`serve_detached`
and `stop_served` are its ``--detach`` and ``stop``); `serve_in_subprocess` and
`serve_in_thread` start a server for a test and stop it afterwards. All of them
announce the server with the same information: the services' URLs and
port, a token valid for every resource server and its identity, the ids of the
registered flows (``flow_ids``) with what their runs do (``flows``), the ids of
the timers (``timer_ids``) and of the registered confidential clients
(``client_ids``).
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from ._clock import FakeClock
from ._fake import DEFAULT_MAX_BODY_SIZE, FakeGlobus
from ._faults import KINDS, FaultKind
from ._recording import DEFAULT_MAX_RECORDS
from ._records import FlowBehavior, FlowRecord

if TYPE_CHECKING:
    import uvicorn

LOOPBACK = "127.0.0.1"
#: Seconds a client has to send a whole request head before its connection is closed.
DEFAULT_HEADER_TIMEOUT = 10.0
#: Seconds an idle connection stays open after a response.
DEFAULT_KEEP_ALIVE_TIMEOUT = 5


def add_sample_flows(fake: FakeGlobus) -> list[str]:
    """Register the sample flows a served emulator offers; returns their ids.

    In order: runs that succeed after 3 s, runs that fail after 3 s, runs
    that go INACTIVE (ConsentRequired) after 2 s and, once resumed, succeed 4 s
    later, runs that wait for a person to answer a web input 1 s in (Approve:
    they succeed 2 s later; Reject: they fail), and runs that go INACTIVE at
    once until the caller consents to the flow's scope (``grant_consent``).
    """
    return [
        fake.add_flow(title="Sample Succeeding Flow", duration=3.0),
        fake.add_flow(
            title="Sample Failing Flow",
            duration=3.0,
            outcome="FAILED",
            failure_description="The sample action failed on purpose",
        ),
        fake.add_flow(title="Sample Inactive Flow", duration=6.0, inactive_after=2.0),
        fake.add_flow(
            title="Sample Approval Flow",
            duration=3.0,
            web_input={
                "title": "Approve this sample run?",
                "text": "The sample run waits here until someone answers.",
                "after": 1.0,
            },
        ),
        fake.add_flow(title="Sample Consent Flow", duration=3.0, consent_required=True),
    ]


# The sample timer: hourly, first firing at startup (so it has a run to show).
SAMPLE_TIMER_INTERVAL = 3600
SAMPLE_TIMER_NAME = "Sample Hourly Timer"


def add_sample_timer(fake: FakeGlobus, flow_id: str, owner: str | None = None) -> str:
    """A flow timer of ``flow_id`` owned by ``owner`` (default: the fake's identity) that
    fires at once and then every `SAMPLE_TIMER_INTERVAL` seconds; returns its id."""
    return fake.add_timer(
        flow_id,
        {},
        schedule={"type": "recurring", "interval_seconds": SAMPLE_TIMER_INTERVAL},
        name=SAMPLE_TIMER_NAME,
        owner=owner,
    )


def describe_behavior(behavior: FlowBehavior) -> str:
    """What a run with ``behavior`` does, in words (seconds of emulated time)."""
    if behavior.outcome == "SUCCEEDED":
        ending = "succeeds"
    else:
        verb = "fails" if behavior.outcome == "FAILED" else "ends"
        ending = f"{verb} ({behavior.failure_code})"
    if behavior.inactive_after is None:
        return f"{ending} {behavior.duration:g} s after it starts"
    rest = behavior.duration - behavior.inactive_after
    return (
        f"goes INACTIVE ({behavior.inactive_code}) {behavior.inactive_after:g} s after it "
        f"starts; once resumed, {ending} {rest:g} s later"
    )


def _describe_flow(flow: FlowRecord) -> dict[str, str]:
    behavior = flow.behavior
    if flow.web_input is not None:
        step = flow.web_input
        choices = ", ".join(f"{c.label}: {c.outcome}" for c in step.options)
        runs = (
            f"waits {step.after:g} s after it starts for a person to answer the web input "
            f"{step.title!r}; the option chosen decides how it ends ({choices})"
        )
    elif flow.consent_required:
        rest = behavior.duration - (behavior.inactive_after or 0.0)
        runs = (
            f"goes INACTIVE ({behavior.inactive_code}) when it starts until its owner consents "
            f"to the flow's scope; once resumed, succeeds {rest:g} s later"
        )
    else:
        runs = describe_behavior(behavior)
    return {"id": flow.flow_id, "title": flow.title, "runs": runs}


def parse_client(spec: str) -> tuple[str, str]:
    """``ID:SECRET`` as a client id (a UUID, as in Globus Auth) and secret; `ValueError`
    with a readable message for anything else."""
    client_id, colon, secret = spec.partition(":")
    if not colon or not client_id.strip() or not secret:
        raise ValueError(f"--client wants ID:SECRET (both non-empty), not {spec!r}")
    try:
        # Official clients look the client up as an identity, by this id.
        canonical = str(uuid.UUID(client_id.strip()))
    except ValueError:
        raise ValueError(
            f"the client id in --client must be a UUID, as in Globus Auth, not {client_id!r}"
        ) from None
    return canonical, secret


def _check_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the emulator only listens on loopback hosts, not {host!r}")


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (``port=0``: any free port)."""
    _check_loopback(host)
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        # Listening before announcing the port: early clients wait in the backlog.
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _origin(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _announcement(fake: FakeGlobus, port: int) -> dict[str, Any]:
    return {
        **fake.urls(),
        "port": port,
        "token": fake.token,
        "identity_id": fake.identity_id,
        "flow_ids": list(fake.flows),
        "flows": [_describe_flow(flow) for flow in fake.flows.values()],
        "timer_ids": list(fake.timers_service.timers),
        "client_ids": list(fake.auth_service.clients),
    }


def _server(
    fake: FakeGlobus,
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    keep_alive_timeout: int = DEFAULT_KEEP_ALIVE_TIMEOUT,
) -> uvicorn.Server:
    import uvicorn  # an optional dependency: imported only when serving

    from ._connections import protocol_with

    if keep_alive_timeout <= 0:
        raise ValueError(f"the keep-alive timeout must be positive, not {keep_alive_timeout}")
    config = uvicorn.Config(
        fake.app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        http=protocol_with(header_timeout),
        timeout_keep_alive=keep_alive_timeout,
    )
    return uvicorn.Server(config)


def parse_fault(spec: str) -> tuple[FaultKind, float, str]:
    """``KIND[:PROBABILITY[:ROUTE]]`` (``503:0.1:/flows/runs/*``) as kind, probability, route.

    Raises :class:`ValueError` with a readable message for anything else.
    """
    kind, _, rest = spec.partition(":")
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r} in {spec!r}; kinds: {', '.join(KINDS)}")
    text, _, route = rest.partition(":")
    try:
        probability = float(text) if text else 1.0
    except ValueError:
        raise ValueError(f"fault probability {text!r} in {spec!r} is not a number") from None
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"fault probability {probability} in {spec!r} is not within 0..1")
    return cast("FaultKind", kind), probability, route or "*"


def serve(
    *,
    port: int = 0,
    host: str = LOOPBACK,
    token: str | None = None,
    speed: float = 1.0,
    faults: Sequence[str] = (),
    seed: int | None = None,
    out: IO[str] | None = None,
    clients: Sequence[str] = (),
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    keep_alive_timeout: int = DEFAULT_KEEP_ALIVE_TIMEOUT,
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    max_recorded_requests: int = DEFAULT_MAX_RECORDS,
    ready_file: str | os.PathLike[str] | None = None,
) -> None:
    """Serve a fresh emulator with sample flows and timers until interrupted.

    Time runs in real time, ``speed`` times faster. ``faults`` are injected as
    ``KIND[:PROBABILITY[:ROUTE]]`` (see `parse_fault` and ``Faults.add``), drawn
    from a generator seeded with ``seed``. ``clients`` (``ID:SECRET`` each) are
    registered as confidential clients that may use the client-credentials grant;
    the tokens they get belong to an identity whose id is the client id.

    Connections are closed when a request head is not complete ``header_timeout``
    seconds after the connection (or a later request's first byte), and when idle
    ``keep_alive_timeout`` seconds after a response. Bodies over ``max_body_size``
    bytes are answered 413; the latest ``max_recorded_requests`` requests are recorded.

    Once listening, writes one JSON line to ``out`` (default stdout):
    ``flows_url``, ``timers_url``, ``auth_url``, ``port`` (the one bound; ``port=0``
    picks a free one), ``token`` (``token`` or a random one) and its ``identity_id``,
    ``flow_ids`` (see `add_sample_flows`), ``flows`` (for each flow its ``id``,
    ``title`` and what its ``runs`` do), ``timer_ids`` and ``client_ids``. There is
    one sample timer (see `add_sample_timer`) of the succeeding flow for the token's
    identity and one for each client. Only loopback hosts are accepted; every bad
    argument raises `ValueError` before anything listens.

    With ``ready_file``, the same JSON document, with the server's ``pid`` added, is
    also written to that path once the server listens, atomically (a temporary file
    in the same folder, then renamed): a reader finds either no file or all of it.
    """
    rules = [parse_fault(spec) for spec in faults]
    registered = [parse_client(spec) for spec in clients]
    fake = FakeGlobus(
        token=token or secrets.token_urlsafe(24),
        clock=FakeClock(realtime=True, speed=speed),
        max_body_size=max_body_size,
        max_recorded_requests=max_recorded_requests,
    )
    server = _server(fake, header_timeout, keep_alive_timeout)
    for kind, probability, route in rules:
        fake.faults.add(kind, probability=probability, route=route)
    if seed is not None:
        fake.faults.seed(seed)
    for client_id, secret in registered:
        fake.add_client(client_id, secret)
    succeeding = add_sample_flows(fake)[0]
    add_sample_timer(fake, succeeding)
    for client_id in fake.auth_service.clients:
        add_sample_timer(fake, succeeding, owner=client_id)
    # Everything that can be refused was checked: only now take the port.
    sock = _listen(host, port)
    fake.origin = _origin(sock)
    announcement = _announcement(fake, sock.getsockname()[1])
    stream = out if out is not None else sys.stdout
    stream.write(json.dumps(announcement) + "\n")
    stream.flush()
    if ready_file is not None:
        _write_atomically(Path(ready_file), json.dumps({**announcement, "pid": os.getpid()}))
    server.run(sockets=[sock])


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` and a newline to ``path`` so that no reader ever sees part of it."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text + "\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextmanager
def serve_in_thread(
    fake: FakeGlobus | None = None,
    *,
    host: str = LOOPBACK,
    port: int = 0,
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    keep_alive_timeout: int = DEFAULT_KEEP_ALIVE_TIMEOUT,
) -> Iterator[dict[str, Any]]:
    """Serve ``fake`` (a new `FakeGlobus` when ``None``) from a background thread.

    Yields the same information `serve` prints; the test keeps direct access
    to ``fake``'s state. The server stops when the block exits. Requests are
    handled on the server thread: set the fake up before sending requests.
    ``header_timeout`` and ``keep_alive_timeout`` are as for `serve`.

    Example::

        import httpx

        with serve_in_thread(FakeGlobus()) as info:
            headers = {"Authorization": f"Bearer {info['token']}"}
            print(httpx.get(info["flows_url"] + "runs", headers=headers).json())
    """
    fake = fake if fake is not None else FakeGlobus()
    server = _server(fake, header_timeout, keep_alive_timeout)
    sock = _listen(host, port)
    fake.origin = _origin(sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield _announcement(fake, sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _read_line(stream: IO[str], timeout: float) -> str:
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0] if lines else ""


def _start_server_process(
    arguments: Sequence[str], *, startup_timeout: float, detached: bool, stderr: IO[str] | None
) -> tuple[subprocess.Popen[str], dict[str, Any] | None]:
    """Run ``python -m globus_runs.testing serve ARGUMENTS`` (this copy of the package) and
    wait for its startup line; returns the process and the line, or ``None`` in its place
    when the process ended or said nothing within ``startup_timeout`` seconds."""
    command = [sys.executable, "-m", "globus_runs.testing", "serve", *arguments]
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    options: dict[str, Any] = {}
    if detached:
        # Its own session (POSIX) or process group (Windows): a Ctrl-C or a closed
        # terminal meant for the shell that started it does not stop it.
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
            options["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
        else:
            options["start_new_session"] = True
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=env,
        **options,
    )
    assert process.stdout is not None
    line = _read_line(process.stdout, startup_timeout)
    return process, (json.loads(line) if line else None)


def _end(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def serve_detached(
    arguments: Sequence[str],
    *,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
    startup_timeout: float = 120.0,
) -> int:
    """Start ``serve ARGUMENTS`` in a background process of its own and return once it listens.

    Writes its JSON line, with the server's ``pid`` added, to ``out`` (default stdout) and
    returns 0; the server goes on after this returns, until `stop_served` (``python -m
    globus_runs.testing stop FILE``) or a signal stops it. When the server does not start
    (a port in use, say) or says nothing within ``startup_timeout`` seconds, what it wrote
    to stderr goes to ``err`` (default stderr), it is ended, and its exit status (or 1) is
    returned. Nothing the server writes later reaches this process's stdout or stderr, so
    ``$(...)`` and ``> file`` return as soon as it is ready.
    """
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as errors:
        process, info = _start_server_process(
            arguments, startup_timeout=startup_timeout, detached=True, stderr=errors
        )
        assert process.stdout is not None
        if info is not None:
            process.stdout.close()
            (out if out is not None else sys.stdout).write(
                json.dumps({**info, "pid": process.pid}) + "\n"
            )
            return 0
        if process.poll() is None:
            _end(process)
            errors.write(f"the emulator did not start within {startup_timeout:g} s\n")
        process.stdout.close()
        errors.seek(0)
        (err if err is not None else sys.stderr).write(errors.read())
        return process.returncode or 1


def stop_served(path: str | os.PathLike[str], *, timeout: float = 60.0) -> str:
    """Stop the server whose JSON line (from ``serve --detach`` or ``--ready-file``) is at
    ``path``, and return once its port no longer accepts connections.

    Returns what was done, in words. Raises `ValueError` for a file without the server's
    ``pid`` and ``port``, `LookupError` when nothing listens on that port any more (the
    process is then left alone: its pid may belong to another process by now), and
    `TimeoutError` when the port still accepts connections after ``timeout`` seconds.
    """
    try:
        info = json.loads(Path(path).read_text(encoding="utf-8"))
        pid, port = int(info["pid"]), int(info["port"])
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise ValueError(
            f"{os.fspath(path)} is not the JSON line of `serve --detach` (with pid and port): {err}"
        ) from None
    if not _accepts_connections(port):
        raise LookupError(f"no emulator listens on port {port} any more (already stopped?)")
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        raise LookupError(f"process {pid} has already ended") from None
    deadline = time.monotonic() + timeout
    while _accepts_connections(port):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the emulator (pid {pid}) still listens after {timeout:g} s")
        time.sleep(0.05)
    return f"stopped the emulator on port {port} (pid {pid})"


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=5):
            return True
    except OSError:
        return False


@contextmanager
def serve_in_subprocess(
    *,
    token: str | None = None,
    speed: float = 1.0,
    faults: Sequence[str] = (),
    seed: int | None = None,
    startup_timeout: float = 30.0,
    clients: Sequence[str] = (),
) -> Iterator[dict[str, Any]]:
    """Run ``python -m globus_runs.testing serve --port 0`` for the block.

    Yields the JSON line the server printed (with the port it actually bound),
    and terminates the process afterwards. ``faults`` and ``seed`` are passed as
    ``--fault`` and ``--seed``, ``clients`` (``ID:SECRET``) as ``--client``. Raises
    `RuntimeError` if the server does not announce itself within ``startup_timeout``
    seconds.

    Example::

        with serve_in_subprocess(speed=20.0) as info:
            async with FlowsClient(authorizer=info["token"], base_url=info["flows_url"]) as flows:
                print(await flows.list_runs())
    """
    arguments = ["--port", "0", "--speed", str(speed)]
    if token is not None:
        arguments += ["--token", token]
    for spec in faults:
        parse_fault(spec)  # a bad spec fails here, not as a server that never starts
        arguments += ["--fault", spec]
    if seed is not None:
        arguments += ["--seed", str(seed)]
    for spec in clients:
        parse_client(spec)
        arguments += ["--client", spec]
    process, info = _start_server_process(
        arguments, startup_timeout=startup_timeout, detached=False, stderr=None
    )
    assert process.stdout is not None
    try:
        if info is None:
            raise RuntimeError(f"the emulator did not start (exit code {process.poll()})")
        yield info
    finally:
        _end(process)
        process.stdout.close()
