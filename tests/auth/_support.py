"""Constants and helpers shared by the auth tests."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from globus_runs.testing import FakeGlobus, RecordedRequest

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FLOWS = "flows.globus.org"
TIMERS = "524230d7-ea86-4a52-8312-86065a9e0417"
FLOWS_ALL = "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/all"
RUN_STATUS = "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/run_status"
TIMERS_SCOPE = f"https://auth.globus.org/scopes/{TIMERS}/timer"


def flow_scope(flow_id: str) -> str:
    """The scope of one flow (its resource server is the flow id)."""
    return f"https://auth.globus.org/scopes/{flow_id}/flow_{flow_id.replace('-', '_')}_user"


def authorization_headers(fake: FakeGlobus, service: str = "flows") -> list[str | None]:
    """The Authorization header of each request ``service`` received, in order."""
    return [r.headers.get("authorization") for r in fake.requests if r.service == service]


def statuses(fake: FakeGlobus, service: str = "flows") -> list[int | None]:
    """The status answered to each request ``service`` received, in order."""
    return [r.status_code for r in fake.requests if r.service == service]


def form_of(request: RecordedRequest) -> dict[str, str]:
    """The form fields of a recorded token request."""
    return dict(httpx.QueryParams(request.body.decode()))
