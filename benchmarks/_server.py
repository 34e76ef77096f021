"""A minimal, fast loopback HTTP server answering every request with one fixed run document.

The throughput cases measure the clients, so the server must not be the bottleneck: this
one is a bare ``asyncio.Protocol`` speaking just enough HTTP/1.1 (keep-alive, a
``Content-Length`` body) and does nothing per request but write a pre-built answer: about
twice as fast as the emulator behind uvicorn, which does real work for every request. It
runs in its own process, so it does not compete with the client for the GIL.
``--latency`` delays every answer, to make a latency-bound server; ``--cert`` and ``--key``
(PEM files) make it answer over TLS (``serve_in_subprocess(tls=True)`` makes them with
``trustme`` and gives the clients the CA file to trust).

Run: ``python -m benchmarks._server [--latency SECONDS] [--cert PEM --key PEM]``; it prints
``{"url": ...}`` on one line once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parents[1]
PAYLOAD = ROOT / "tests" / "payloads" / "flows_run_succeeded.json"


def _answer(body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


class _FixedAnswer(asyncio.Protocol):
    """Answers each HTTP/1.1 request on a connection, in order, with the same bytes."""

    def __init__(self, answer: bytes, latency: float) -> None:
        self._answer = answer
        self._latency = latency
        self._buffer = b""
        self._transport: asyncio.Transport | None = None
        self._loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self._buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self._buffer) < end + 4 + length:
                return
            self._buffer = self._buffer[end + 4 + length :]
            if self._latency > 0:
                self._loop.call_later(self._latency, self._write)
            else:
                self._write()

    def _write(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(self._answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None


def _listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    return sock


def serve(*, latency: float, cert: str | None = None, key: str | None = None) -> None:
    """Serve until killed (over TLS with ``cert`` and ``key``); announce the URL first."""
    body = PAYLOAD.read_bytes()
    sock = _listen()
    host, port = sock.getsockname()[:2]
    context = None
    if cert is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
    scheme = "https" if context is not None else "http"
    print(json.dumps({"url": f"{scheme}://{host}:{port}"}), flush=True)

    async def main() -> None:
        answer = _answer(body)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _FixedAnswer(answer, latency), sock=sock, ssl=context
        )
        async with server:
            await server.serve_forever()

    asyncio.run(main())


@attrs.frozen
class Server:
    """A running benchmark server: its base URL, process id, and the CA file to trust when it
    answers over TLS."""

    url: str
    pid: int
    ca_file: str | None = None


@contextmanager
def serve_in_subprocess(*, latency: float = 0.0, tls: bool = False) -> Iterator[Server]:
    """Run the server in a child process for the block; over TLS with a ``trustme`` CA."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "benchmarks._server", "--latency", str(latency)]
        ca_file = None
        if tls:
            import trustme

            ca = trustme.CA()
            issued = ca.issue_cert("127.0.0.1", "localhost")
            cert, key = Path(folder, "cert.pem"), Path(folder, "key.pem")
            ca_file = str(Path(folder, "ca.pem"))
            issued.private_key_pem.write_to_path(str(key))
            cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
            ca.cert_pem.write_to_path(ca_file)
            command += ["--cert", str(cert), "--key", str(key)]
        with _process(command, ca_file) as server:
            yield server


@contextmanager
def _process(command: list[str], ca_file: str | None) -> Iterator[Server]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    stdout = process.stdout
    assert stdout is not None
    try:
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(30)
        if not lines or not lines[0]:
            raise RuntimeError(f"the benchmark server did not start (exit {process.poll()})")
        yield Server(url=json.loads(lines[0])["url"], pid=process.pid, ca_file=ca_file)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        stdout.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--cert", help="PEM certificate chain: answer over TLS")
    parser.add_argument("--key", help="PEM private key of --cert")
    args = parser.parse_args()
    serve(latency=args.latency, cert=args.cert, key=args.key)
