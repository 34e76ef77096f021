"""HTTP routes of the emulated web inputs (mounted with Flows, at ``/flows``).

Reading needs a Flows token; answering too. The logic is in `WebInputsState`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._auth import FLOWS_RESOURCE_SERVER, flows_scope, require_resource_server
from ._errors import bad_request
from ._json import BodyError, decode_json
from ._params import QueryParams

if TYPE_CHECKING:
    from ._fake import FakeGlobus

__all__ = ["web_input_routes"]


def web_input_routes(fake: FakeGlobus) -> list[Route]:
    """The web-input routes of Flows, answering from ``fake``'s state and clock."""
    state = fake.web_inputs_service

    def caller(request: Request, now: datetime, scope: str) -> str:
        grant = fake.tokens.authenticate(request.headers.get("authorization"), now)
        require_resource_server(grant, FLOWS_RESOURCE_SERVER, flows_scope(scope))
        return grant.urn

    async def list_inputs(request: Request) -> Response:
        now = fake.clock.now()
        urn = caller(request, now, "run_status")
        query = QueryParams(request.query_params.multi_items())
        return JSONResponse(state.list(urn, query, now))

    async def get_input(request: Request) -> Response:
        now = fake.clock.now()
        urn = caller(request, now, "run_status")
        return JSONResponse(state.get(urn, request.path_params["web_input_id"], now))

    async def respond(request: Request) -> Response:
        now = fake.clock.now()
        urn = caller(request, now, "run_manage")
        raw = await request.body()
        try:
            payload = decode_json(raw) if raw else None
        except BodyError as err:
            raise bad_request(f"Request body is {err}") from None
        answer = state.respond(urn, request.path_params["web_input_id"], payload, now)
        return JSONResponse(answer)

    return [
        Route("/web_inputs", list_inputs, methods=["GET"]),
        Route("/web_inputs/{web_input_id}", get_input, methods=["GET"]),
        Route("/web_inputs/{web_input_id}/respond", respond, methods=["POST"]),
    ]
