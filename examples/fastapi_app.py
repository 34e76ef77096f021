"""A FastAPI service that starts and reads Globus flow runs on behalf of its callers.

Each request carries the caller's Globus token (``Authorization: Bearer ...``) and the
service passes it on, so every caller sees exactly what Globus lets them see. One
``httpx.AsyncClient`` (one connection pool, made by ``pooled_http_client``) is opened for
the whole life of the app; the ``FlowsClient`` built on top of it for each request costs no
I/O. (A plain ``httpx.AsyncClient`` works too, through httpx's own pool.)

Its dependencies come with the ``examples`` extra (``pip install ".[examples]"`` from a
checkout). Run it against production Globus, or against an emulator on port 8000 (the app
then takes port 8001)::

    python -m globus_runs.testing serve --port 8000 > emulator.json &
    GLOBUS_RUNS_FLOWS_URL=http://127.0.0.1:8000/flows/ uvicorn examples.fastapi_app:app --port 8001

Settings come from the environment:

- ``GLOBUS_RUNS_FLOWS_URL``: the Flows URL (default: the one of the environment below);
- ``GLOBUS_RUNS_ENVIRONMENT``: a Globus environment such as ``sandbox`` (default ``production``).
"""

from __future__ import annotations

import math
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from globus_runs import (
    APIError,
    APITimeoutError,
    ConfigurationError,
    FlowsClient,
    GlobusRunsError,
    InvalidRequestError,
    Run,
    pooled_http_client,
)

__all__ = ["RunOut", "RunsOut", "Settings", "StartRun", "app", "create_app", "router"]


@dataclass(frozen=True)
class Settings:
    """Where the Flows service is."""

    flows_url: str | None = None
    environment: str = "production"

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            flows_url=os.environ.get("GLOBUS_RUNS_FLOWS_URL") or None,
            environment=os.environ.get("GLOBUS_RUNS_ENVIRONMENT") or "production",
        )


class StartRun(BaseModel):
    """The body of ``POST /runs``."""

    flow_id: str
    body: dict[str, Any]
    label: str | None = None


class RunOut(BaseModel):
    """A run as this service shows it."""

    run_id: str
    flow_id: str
    flow_title: str | None
    status: str
    label: str | None
    tags: list[str]
    start_time: datetime | None
    completion_time: datetime | None

    @classmethod
    def of(cls, run: Run) -> RunOut:
        return cls(
            run_id=run.run_id,
            flow_id=run.flow_id,
            flow_title=run.flow_title,
            status=run.status,
            label=run.label,
            tags=run.tags,
            start_time=run.start_time,
            completion_time=run.completion_time,
        )


class RunsOut(BaseModel):
    """One page of runs; pass ``marker`` back as ``?marker=`` for the next one."""

    runs: list[RunOut]
    marker: str | None


def _status_for(error: GlobusRunsError) -> int:
    """The status answering a library error.

    Globus' own 4xx answers are passed on: the caller's token, input or run id is at fault
    (401, 403, 404 for a run or flow not found, 409, 429...). Failures of Globus or of the
    way to it are a bad gateway.
    """
    if isinstance(error, APIError) and error.http_status < 500:
        return error.http_status
    if isinstance(error, InvalidRequestError):
        return 400
    if isinstance(error, ConfigurationError):
        return 500
    if isinstance(error, APITimeoutError):
        return 504
    return 502


_bearer = HTTPBearer(auto_error=False)


async def flows_client(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AsyncIterator[FlowsClient]:
    """A client acting with the caller's token, over the app's one connection pool."""
    if credentials is None:
        raise HTTPException(
            401, "a Globus bearer token is required", {"WWW-Authenticate": "Bearer"}
        )
    settings: Settings = request.app.state.settings
    http_client: httpx.AsyncClient = request.app.state.http_client
    async with FlowsClient(
        authorizer=credentials.credentials,
        http_client=http_client,
        base_url=settings.flows_url,
        environment=settings.environment,
    ) as flows:
        yield flows


Flows = Annotated[FlowsClient, Depends(flows_client)]
router = APIRouter()


@router.post("/runs", status_code=201)
async def start_run(start: StartRun, flows: Flows) -> RunOut:
    """Start a run of a flow as the caller."""
    return RunOut.of(await flows.run_flow(start.flow_id, start.body, label=start.label))


@router.get("/runs/{run_id}")
async def get_run(run_id: str, flows: Flows) -> RunOut:
    """One run the caller may see."""
    return RunOut.of(await flows.get_run(run_id))


@router.get("/runs")
async def list_my_runs(
    flows: Flows,
    marker: str | None = None,
    per_page: Annotated[int | None, Query(ge=1, le=50)] = None,
) -> RunsOut:
    """The runs the caller started, a page at a time."""
    page = await flows.list_runs(filter_roles="run_owner", per_page=per_page, marker=marker)
    return RunsOut(
        runs=[RunOut.of(run) for run in page.runs],
        marker=page.marker if page.has_next_page else None,
    )


async def globus_error(request: Request, error: GlobusRunsError) -> JSONResponse:
    """Answer a library error with its status and a short JSON body (never a token)."""
    status = _status_for(error)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if isinstance(error, APIError):
        content = {"error": error.code, "message": error.message}
        if error.retry_after is not None:
            headers["Retry-After"] = str(math.ceil(error.retry_after))
    else:
        content = {"error": type(error).__name__, "message": str(error)}
    return JSONResponse(content, status, headers=headers)


def create_app(
    settings: Settings | None = None, *, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """The service; ``transport`` is for the shared ``httpx.AsyncClient`` (tests give the
    emulator's)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with pooled_http_client(100, transport=transport) as http_client:
            app.state.http_client = http_client
            yield

    app = FastAPI(title="Flow runs", lifespan=lifespan)
    app.state.settings = settings or Settings.from_env()
    app.include_router(router)
    app.exception_handler(GlobusRunsError)(globus_error)
    return app


app = create_app()
