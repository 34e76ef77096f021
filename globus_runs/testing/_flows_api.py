"""HTTP routes of the emulated Flows service (mounted at ``/flows``).

Each route authenticates the caller, checks that its token is for the right
resource server, and hands the parsed request to `FlowsState`. Starting,
validating and resuming need a token for the flow itself (its resource server
is the flow id); everything else needs one for ``flows.globus.org``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._auth import (
    FLOWS_RESOURCE_SERVER,
    TokenGrant,
    flow_scope,
    flows_scope,
    require_resource_server,
)
from ._errors import bad_request
from ._flow_lookup import get_flow, list_flows
from ._json import BodyError, decode_json
from ._params import QueryParams

if TYPE_CHECKING:
    from ._fake import FakeGlobus

_RUN_STATUS = flows_scope("run_status")
_RUN_MANAGE = flows_scope("run_manage")
_VIEW_FLOWS = flows_scope("view_flows")

Endpoint = Callable[[Request], Awaitable[Response]]


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return None
    try:
        return decode_json(raw)
    except BodyError as err:
        raise bad_request(f"Request body is {err}") from None


def _query(request: Request) -> QueryParams:
    return QueryParams(request.query_params.multi_items())


def flows_routes(fake: FakeGlobus) -> list[Route]:
    """The Flows routes, answering from ``fake``'s state and clock."""
    state = fake.flows_service

    def caller(request: Request, now: datetime) -> TokenGrant:
        return fake.tokens.authenticate(request.headers.get("authorization"), now)

    def flows_caller(request: Request, now: datetime, scope: str) -> str:
        grant = caller(request, now)
        require_resource_server(grant, FLOWS_RESOURCE_SERVER, scope)
        return grant.urn

    async def start_run(request: Request) -> Response:
        now, flow_id = fake.clock.now(), request.path_params["flow_id"]
        grant = caller(request, now)
        require_resource_server(grant, flow_id, flow_scope(flow_id))
        payload = await _json_body(request)
        return JSONResponse(state.start_run(grant.urn, flow_id, payload, now), 201)

    async def validate_run(request: Request) -> Response:
        now, flow_id = fake.clock.now(), request.path_params["flow_id"]
        require_resource_server(caller(request, now), flow_id, flow_scope(flow_id))
        payload = await _json_body(request)
        return JSONResponse(state.validate_run(flow_id, payload))

    async def list_runs(request: Request) -> Response:
        now, flow_id = fake.clock.now(), request.path_params.get("flow_id")
        urn = flows_caller(request, now, _RUN_STATUS)
        return JSONResponse(state.list_runs(urn, _query(request), now, flow_id=flow_id))

    async def get_run(request: Request) -> Response:
        now, run_id = fake.clock.now(), request.path_params["run_id"]
        urn = flows_caller(request, now, _RUN_STATUS)
        return JSONResponse(state.get_run(urn, run_id, _query(request), now))

    async def update_run(request: Request) -> Response:
        now, run_id = fake.clock.now(), request.path_params["run_id"]
        urn = flows_caller(request, now, _RUN_MANAGE)
        payload = await _json_body(request)
        return JSONResponse(state.update_run(urn, run_id, payload, now))

    async def cancel_run(request: Request) -> Response:
        now, run_id = fake.clock.now(), request.path_params["run_id"]
        urn = flows_caller(request, now, _RUN_MANAGE)
        return JSONResponse(state.cancel_run(urn, run_id, now), 202)

    async def resume_run(request: Request) -> Response:
        now, run_id = fake.clock.now(), request.path_params["run_id"]
        grant = caller(request, now)
        # The legacy route names the flow: the run must be one of its runs.
        named = request.path_params.get("flow_id")
        flow_id = state.visible_run(grant.urn, run_id, flow_id=named).flow.flow_id
        require_resource_server(grant, flow_id, flow_scope(flow_id))
        return JSONResponse(state.resume_run(grant.urn, run_id, now))

    async def release_run(request: Request) -> Response:
        now, run_id = fake.clock.now(), request.path_params["run_id"]
        urn = flows_caller(request, now, _RUN_MANAGE)
        return JSONResponse(state.release_run(urn, run_id, now))

    async def run_log(request: Request) -> Response:
        now, run_id = fake.clock.now(), request.path_params["run_id"]
        flow_id = request.path_params.get("flow_id")
        urn = flows_caller(request, now, _RUN_STATUS)
        return JSONResponse(state.run_log(urn, run_id, _query(request), now, flow_id=flow_id))

    async def run_definition(request: Request) -> Response:
        now, run_id = fake.clock.now(), request.path_params["run_id"]
        urn = flows_caller(request, now, _RUN_STATUS)
        return JSONResponse(state.run_definition(urn, run_id))

    async def show_flow(request: Request) -> Response:
        now, flow_id = fake.clock.now(), request.path_params["flow_id"]
        urn = flows_caller(request, now, _VIEW_FLOWS)
        return JSONResponse(get_flow(state, urn, flow_id))

    async def list_all_flows(request: Request) -> Response:
        urn = flows_caller(request, fake.clock.now(), _VIEW_FLOWS)
        return JSONResponse(list_flows(state, urn, _query(request)))

    routes: list[tuple[str, str, Endpoint]] = [
        ("POST", "/flows/{flow_id}/run", start_run),
        ("POST", "/flows/{flow_id}/validate_run", validate_run),
        ("GET", "/runs", list_runs),
        ("GET", "/runs/{run_id}", get_run),
        ("PUT", "/runs/{run_id}", update_run),
        ("POST", "/runs/{run_id}/cancel", cancel_run),
        ("POST", "/runs/{run_id}/resume", resume_run),
        ("POST", "/runs/{run_id}/release", release_run),
        ("GET", "/runs/{run_id}/log", run_log),
        ("GET", "/runs/{run_id}/definition", run_definition),
        ("GET", "/flows/{flow_id}", show_flow),
        # Older routes production still answers.
        ("GET", "/flows/{flow_id}/runs", list_runs),
        ("GET", "/flows/{flow_id}/runs/{run_id}/log", run_log),
        ("POST", "/flows/{flow_id}/{run_id}/resume", resume_run),
        ("GET", "/flows", list_all_flows),
    ]
    return [Route(path, endpoint, methods=[method]) for method, path, endpoint in routes]
