"""A loopback HTTP/1.1 server that echoes each request back in an error answer."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Echo(BaseHTTPRequestHandler):
    """Answers every request ``400`` with the request's head and body in the error message
    (a JSON body), and its Authorization header as the request id."""

    protocol_version = "HTTP/1.1"
    seen: list[bytes]

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        raw = f"{self.requestline}\r\n{self.headers}".encode("latin-1") + body
        self.seen.append(raw)
        text = json.dumps({"error": {"code": "ECHO", "message": raw.decode("latin-1")}})
        answer = text.encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.send_header("X-Request-Id", self.headers.get("Authorization", "none"))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, format: str, *args: object) -> None:
        return None


@contextmanager
def echo_server() -> Iterator[tuple[str, list[bytes]]]:
    """The server's base URL and the raw requests it received."""
    seen: list[bytes] = []
    handler = type("Echo", (_Echo,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
