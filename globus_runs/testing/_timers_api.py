"""HTTP routes of the emulated Timers service (mounted at ``/timers``).

Every route needs a token for the Timers resource server (401 without a valid
token, 403 ``MISSING_SCOPE`` naming the Timers scope otherwise) and hands the
parsed request to `TimersState`. Errors have the Timers shape,
``{"error": {"code", "detail", "status"}}``, except body and query validation
failures, which are FastAPI's ``422 {"detail": [{"loc", "msg", "type"}]}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._auth import TIMERS_RESOURCE_SERVER, TIMERS_SCOPE, require_resource_server
from ._errors import ApiError, validation_item
from ._json import BodyError, decode_json
from ._params import QueryParams
from ._timer_fields import parse_resume

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from ._fake import FakeGlobus

Endpoint = Callable[[Request], Awaitable[Response]]


def timers_error_response(err: ApiError) -> JSONResponse:
    """The Timers-shaped answer for ``err``."""
    if err.status == 422 and isinstance(err.detail, list):
        return JSONResponse({"detail": err.detail}, status_code=422, headers=err.headers)
    body = {"error": {"code": err.code, "detail": err.detail, "status": err.status}}
    return JSONResponse(body, status_code=err.status, headers=err.headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return timers_error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "ERROR")
    return timers_error_response(ApiError(exc.status_code, code, exc.detail, headers=exc.headers))


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return decode_json(raw)
    except BodyError as err:
        item = validation_item(["body"], str(err), "value_error.jsondecode")
        raise ApiError(422, "UNPROCESSABLE_ENTITY", [item]) from None


def _query(request: Request) -> QueryParams:
    return QueryParams(request.query_params.multi_items())


def timers_app(fake: FakeGlobus) -> ASGIApp:
    """The Timers service of ``fake``, answering from its state and clock."""
    state = fake.timers_service

    def caller(request: Request, now: datetime) -> str:
        grant = fake.tokens.authenticate(request.headers.get("authorization"), now)
        require_resource_server(grant, TIMERS_RESOURCE_SERVER, TIMERS_SCOPE)
        return grant.urn

    async def create_timer(request: Request) -> Response:
        now = fake.clock.now()
        urn = caller(request, now)
        payload = await _json_body(request)
        return JSONResponse(state.create_timer(urn, payload, now), 201)

    async def create_job(request: Request) -> Response:
        now = fake.clock.now()
        urn = caller(request, now)
        payload = await _json_body(request)
        return JSONResponse(state.create_job(urn, payload, now), 201)

    async def list_timers(request: Request) -> Response:
        now = fake.clock.now()
        urn = caller(request, now)
        return JSONResponse(state.list_timers(urn, _query(request), now))

    async def get_timer(request: Request) -> Response:
        now, job_id = fake.clock.now(), request.path_params["job_id"]
        urn = caller(request, now)
        return JSONResponse(state.get_timer(urn, job_id, _query(request), now))

    async def rename_timer(request: Request) -> Response:
        now, job_id = fake.clock.now(), request.path_params["job_id"]
        urn = caller(request, now)
        payload = await _json_body(request)
        return JSONResponse(state.rename(urn, job_id, payload, now))

    async def delete_timer(request: Request) -> Response:
        now, job_id = fake.clock.now(), request.path_params["job_id"]
        urn = caller(request, now)
        return JSONResponse(state.delete(urn, job_id, now))

    async def pause_timer(request: Request) -> Response:
        now, job_id = fake.clock.now(), request.path_params["job_id"]
        urn = caller(request, now)
        return JSONResponse(state.pause(urn, job_id, now))

    async def resume_timer(request: Request) -> Response:
        now, job_id = fake.clock.now(), request.path_params["job_id"]
        urn = caller(request, now)
        in_query = _query(request).boolean("update_credentials", False)
        in_body = parse_resume(await _json_body(request))
        return JSONResponse(state.resume(urn, job_id, in_query or in_body, now))

    routes: list[tuple[str, str, Endpoint]] = [
        ("POST", "/v2/timer", create_timer),
        ("GET", "/jobs/", list_timers),
        ("POST", "/jobs/", create_job),
        ("POST", "/jobs", create_job),
        ("GET", "/jobs", list_timers),
        ("GET", "/jobs/{job_id}", get_timer),
        ("PATCH", "/jobs/{job_id}", rename_timer),
        ("DELETE", "/jobs/{job_id}", delete_timer),
        ("POST", "/jobs/{job_id}/pause", pause_timer),
        ("POST", "/jobs/{job_id}/resume", resume_timer),
    ]
    return Starlette(
        routes=[Route(path, endpoint, methods=[method]) for method, path, endpoint in routes],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
    )
