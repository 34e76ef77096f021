"""The emulator's ASGI application.

An outer layer sees every request first: it refuses a body larger than
``fake.max_body_size`` (413), records the request, adds the configured
latency, counts requests in flight and injects the faults configured in
``fake.faults`` (so every service gets them). Inside, a Starlette router mounts each
service under its prefix (``/flows``, ``/timers``...) and turns `ApiError` and unknown routes
into the service's error body.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._auth_api import auth_routes
from ._batch_runs import batch_runs_routes
from ._errors import ApiError
from ._faults import Answer, Fault
from ._flows_api import flows_routes
from ._json import BodyError, decode_json
from ._recording import RecordedRequest
from ._timers_api import timers_app, timers_error_response
from ._web_inputs_api import web_input_routes

if TYPE_CHECKING:
    from ._fake import FakeGlobus

SERVICES = ("flows", "timers", "auth")


def build_app(fake: FakeGlobus) -> ASGIApp:
    """The ASGI app serving every emulated service of ``fake``."""
    router = Starlette(
        routes=[
            Mount(
                "/flows",
                routes=[*flows_routes(fake), *web_input_routes(fake), *batch_runs_routes(fake)],
            ),
            Mount("/timers", app=timers_app(fake)),
            Mount("/auth", routes=auth_routes(fake)),
        ],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
    )
    return _Instrumented(fake, router)


def _split_path(path: str) -> tuple[str, str]:
    """``/flows/runs/x`` -> ``("flows", "/runs/x")``; unknown prefixes -> ``""``."""
    _, _, rest = path.partition("/")
    service, slash, remainder = rest.partition("/")
    if service in SERVICES:
        return service, slash + remainder
    return "", path


def error_response(err: ApiError) -> JSONResponse:
    """The Flows-shaped answer for ``err``."""
    error: dict[str, Any] = {"code": err.code, "detail": err.detail}
    if err.message is not None:
        error["message"] = err.message
    return JSONResponse(
        {**err.extra, "error": error, "debug_id": str(uuid.uuid4())},
        status_code=err.status,
        headers=err.headers,
    )


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "ERROR")
    return error_response(ApiError(exc.status_code, code, exc.detail, headers=exc.headers))


class _TooLarge(Exception):
    """A request body over the size limit."""


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body; `_TooLarge` as soon as it is known to pass ``limit`` bytes."""
    declared = _declared_length(scope)
    if declared is not None and declared > limit:
        raise _TooLarge
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _too_large(service: str, limit: int) -> Response:
    err = ApiError(
        413, "PAYLOAD_TOO_LARGE", f"Request body is larger than the limit of {limit} bytes"
    )
    return timers_error_response(err) if service == "timers" else error_response(err)


def _record(scope: Scope, body: bytes, fake: FakeGlobus) -> RecordedRequest:
    service, path = _split_path(scope["path"])
    query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    try:
        payload = decode_json(body) if body else None
    except BodyError:
        payload = None
    return RecordedRequest(
        service=service,
        method=scope["method"],
        path=path,
        query=query,
        params=dict(query),
        headers=headers,
        json=payload,
        body=body,
        time=fake.clock.now(),
    )


class _Instrumented:
    """Records, delays, counts and injects faults into every HTTP request before the
    router sees it."""

    def __init__(self, fake: FakeGlobus, inner: ASGIApp) -> None:
        self._fake = fake
        self._inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._inner(scope, receive, send)
            return
        fake = self._fake
        try:
            body = await _read_body(scope, receive, fake.max_body_size)
        except _TooLarge:
            record = _record(scope, b"", fake)
            fake.requests.append(record)
            response = _too_large(record.service, fake.max_body_size)
            await response(scope, receive, _watch(record, send))
            return
        record = _record(scope, body, fake)
        fake.requests.append(record)
        fault = fake.faults.pick(scope["method"], scope["path"])
        if fault is not None:
            record.fault = fault.kind
        fake.in_flight += 1
        fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
        try:
            if fake.latency > 0:
                await anyio.sleep(fake.latency)
            # Timers fire lazily: bring them up to now before any service answers.
            fake.fire_due_timers()
            if fault is None:
                await self._inner(scope, _replay(body, receive), _watch(record, send))
            else:
                await _inject(fault, self._inner, scope, _replay(body, receive), send, record)
        finally:
            fake.in_flight -= 1


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` giving the already-read body once, then the real channel."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay


def _watch(record: RecordedRequest, send: Send) -> Send:
    """A ``send`` noting the response status in ``record``."""

    async def watch(message: Message) -> None:
        if message["type"] == "http.response.start":
            record.status_code = message["status"]
        await send(message)

    return watch


# -- fault injection ---------------------------------------------------------------------


async def _inject(
    fault: Fault, app: ASGIApp, scope: Scope, receive: Receive, send: Send, record: RecordedRequest
) -> None:
    """Answer a request hit by ``fault``, handing it to ``app`` first when the fault says so."""
    service_answer = await _capture(app, scope, receive) if fault.calls_service else None
    answer = fault.answer(service_answer, now=datetime.now(UTC))
    if fault.drops_connection:
        await _drop_connection(answer, send)
    if fault.delay:
        await anyio.sleep(fault.delay)
    record.status_code = answer.status
    await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
    await send({"type": "http.response.body", "body": answer.body, "more_body": False})


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> Answer:
    """Run ``app`` on the request and keep its whole answer instead of sending it."""
    status = 500
    headers: tuple[tuple[bytes, bytes], ...] = ()
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = tuple(message.get("headers", ()))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    return Answer(status, headers, b"".join(chunks))


async def _drop_connection(head: Answer, send: Send) -> None:
    """Send the status line and headers of ``head``, then drop the connection.

    A server (uvicorn) closes the socket when the app fails after starting an
    answer, so the client reads a head promising a body that never comes. The
    in-process transport (``asgi_transport``) turns the exception into a read
    error.
    """
    await send({"type": "http.response.start", "status": head.status, "headers": head.headers})
    raise ConnectionResetError("connection dropped by an injected fault")
