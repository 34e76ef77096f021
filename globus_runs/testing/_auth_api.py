"""HTTP routes of the emulated Globus Auth (mounted at ``/auth``): the token endpoint
and identity look-ups.

Token endpoint errors are answered in the OAuth 2 shape, ``{"error": "invalid_grant",
"error_description": "..."}``; identity look-up errors in the Auth API's (see
`_identities`); neither in the Flows one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._auth import TokenGrant, require_resource_server
from ._errors import ApiError
from ._identities import AuthApiError, forbidden, get_consents, get_identities, unauthorized
from ._oauth import AUTH_RESOURCE_SERVER, TOKEN_PATH, OAuthError, parse_form
from ._params import QueryParams

if TYPE_CHECKING:
    from ._fake import FakeGlobus

IDENTITIES_PATH = "/v2/api/identities"
# An answer holding tokens must not be cached anywhere on the way.
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _describe(err: ApiError) -> str:
    if isinstance(err.detail, str):
        return err.detail
    return "; ".join(f"{item['loc'][-1]}: {item['msg']}" for item in err.detail)


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

    def auth_api(
        answer: Callable[[TokenGrant, QueryParams, Request], dict[str, Any]],
    ) -> Callable[[Request], Awaitable[Response]]:
        """An Auth API endpoint: a token for Globus Auth, errors in the Auth API shape."""

        async def endpoint(request: Request) -> Response:
            try:
                try:
                    grant = fake.tokens.authenticate(
                        request.headers.get("authorization"), fake.clock.now()
                    )
                except ApiError:
                    raise unauthorized() from None
                try:
                    require_resource_server(grant, AUTH_RESOURCE_SERVER, "openid")
                except ApiError:
                    raise forbidden() from None
                try:
                    document = answer(
                        grant, QueryParams(request.query_params.multi_items()), request
                    )
                except ApiError as err:
                    # A repeated or empty parameter, read by the shared query parser.
                    raise AuthApiError(
                        400, "INVALID_PARAMETERS", _describe(err), "Invalid Parameters"
                    ) from None
            except AuthApiError as err:
                return JSONResponse(err.body, err.status)
            return JSONResponse(document)

        return endpoint

    def identities(grant: TokenGrant, query: QueryParams, request: Request) -> dict[str, Any]:
        return get_identities(query, service.clients)

    def consents(grant: TokenGrant, query: QueryParams, request: Request) -> dict[str, Any]:
        return get_consents(
            grant.identity_id,
            request.path_params["identity_id"],
            query,
            fake.flows_service.consents,
            grant.client_id,
        )

    return [
        Route(TOKEN_PATH, token, methods=["POST"]),
        Route(IDENTITIES_PATH, auth_api(identities), methods=["GET"]),
        Route(f"{IDENTITIES_PATH}/{{identity_id}}/consents", auth_api(consents), methods=["GET"]),
    ]
