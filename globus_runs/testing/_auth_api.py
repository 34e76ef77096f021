"""HTTP routes of the emulated Globus Auth (mounted at ``/auth``): the token endpoint.

Errors are answered in the OAuth 2 shape, ``{"error": "invalid_grant",
"error_description": "..."}``, not in the Flows one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._oauth import TOKEN_PATH, OAuthError, parse_form

if TYPE_CHECKING:
    from ._fake import FakeGlobus

# An answer holding tokens must not be cached anywhere on the way.
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def auth_routes(fake: FakeGlobus) -> list[Route]:
    """The Auth routes, granting tokens from ``fake``'s clients on its clock."""
    service = fake.auth_service

    async def token(request: Request) -> Response:
        try:
            form = parse_form(await request.body(), request.headers.get("content-type"))
            answer = service.token(form, request.headers.get("authorization"), fake.clock.now())
        except OAuthError as err:
            return JSONResponse(err.body, err.status, headers={**_NO_STORE, **err.headers})
        return JSONResponse(answer, headers=_NO_STORE)

    return [Route(TOKEN_PATH, token, methods=["POST"])]
